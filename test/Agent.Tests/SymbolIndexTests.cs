// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent.Tests;

public sealed class SymbolIndexTests
{
    private static readonly SymbolIndex s_index = new(new Dictionary<string, ulong>
    {
        ["linux!start_kernel"] = 0xffffffff_83000000,
        ["linux!__pfx_start_kernel"] = 0xffffffff_83000000,
        ["linux!rest_init"] = 0xffffffff_83000100,
        ["linux!_end"] = 0xffffffff_84000000,
        ["demo!nt_ExAllocatePoolWithTag"] = 0x1002c1,
        ["nt!ExAllocatePoolWithTag"] = 0x1002c1,
    });

    [TestCase("linux!start_kernel", new[] { "linux!start_kernel" })]
    [TestCase("LINUX!START_*", new[] { "linux!start_kernel" })]
    [TestCase("*start_kernel", new[] { "linux!__pfx_start_kernel", "linux!start_kernel" })]
    [TestCase("linux!*_init", new[] { "linux!rest_init" })]
    [TestCase("rest_?nit", new[] { "linux!rest_init" })]
    [TestCase("*!*Pool*", new[] { "demo!nt_ExAllocatePoolWithTag", "nt!ExAllocatePoolWithTag" })]
    [TestCase("linux!start", new string[0])]
    [TestCase("*a*b*c*d*e*f*z", new string[0])]
    public void Match_Patterns_FindByAddressThenName(string pattern, string[] expected)
    {
        // Act
        IReadOnlyList<(string Name, ulong Address)> found = s_index.Match(pattern, 100, out bool more);

        // Assert
        Assert.That(found.Select(f => f.Name), Is.EqualTo(expected));
        Assert.That(more, Is.False);
    }

    [Test]
    public void Nearest_ARepeatedName_NamesEachDefinitionsAddress()
    {
        // Arrange: System.map of Debian's 6.1 kernel has two static io_serial_out (early_printk.c and the 8250
        // driver); the dictionary keeps the first, the address list both
        var symbols = new Dictionary<string, ulong> { ["linux!io_serial_out"] = 0xffffffff_8107bae0, ["linux!mem16_serial_in"] = 0xffffffff_816aa400, ["linux!set_io_from_upio"] = 0xffffffff_816aa4a0 };
        (string, ulong)[] all = [("linux!io_serial_out", 0xffffffff_8107bae0), ("linux!mem16_serial_in", 0xffffffff_816aa400), ("linux!io_serial_out", 0xffffffff_816aa480), ("linux!set_io_from_upio", 0xffffffff_816aa4a0)];
        var index = new SymbolIndex(symbols, all);

        // Act
        (string Name, ulong Address, string? NextName, ulong NextAddress)? inDriver = index.Nearest(0xffffffff_816aa496);
        (string Name, ulong Address, string? NextName, ulong NextAddress)? inEarly = index.Nearest(0xffffffff_8107bae5);

        // Assert
        Assert.That(inDriver, Is.EqualTo(("linux!io_serial_out", 0xffffffff_816aa480UL, (string?)"linux!set_io_from_upio", 0xffffffff_816aa4a0UL)));
        Assert.That(inEarly?.Name, Is.EqualTo("linux!io_serial_out"));
        Assert.That(inEarly?.Address, Is.EqualTo(0xffffffff_8107bae0UL));
        Assert.That(index.Match("linux!io_serial_out", 10, out _), Has.Count.EqualTo(1), "x names the first definition, as name lookups do");
    }

    [Test]
    public void Match_BeyondTheLimit_SaysThereIsMore()
    {
        // Act
        IReadOnlyList<(string Name, ulong Address)> found = s_index.Match("*", 2, out bool more);

        // Assert
        Assert.That((found.Count, more), Is.EqualTo((2, true)));
    }

    [Test]
    public void Nearest_PrefersTheNameAReaderKnows_AndGivesTheNextSymbol()
    {
        // Act
        var inside = s_index.Nearest(0xffffffff_8300001a);
        var export = s_index.Nearest(0x1002c1);

        // Assert
        Assert.That(inside, Is.EqualTo(("linux!start_kernel", 0xffffffff_83000000UL, "linux!rest_init", 0xffffffff_83000100UL)));
        Assert.That(export?.Name, Is.EqualTo("nt!ExAllocatePoolWithTag"));
    }

    [TestCase(0x1000UL)]
    [TestCase(0xffffffff_85000000UL)]
    public void Nearest_BelowEverySymbolOrFarAboveTheLast_IsNull(ulong address) =>
        Assert.That(s_index.Nearest(address), Is.Null);

    [Test]
    public void Dispatcher_BadLookups_AreRefusedWithTheirReason()
    {
        // Arrange
        using var session = new DebuggeeSession(GuestSpec.Parse("demo"), new VmConfiguration { Cores = 1, MemoryBytes = 16 * 1024 * 1024 });
        var dispatcher = new RequestDispatcher(session, null);
        var tooMany = new LookupSymbolsRequest();
        tooMany.Addresses.Add(Enumerable.Range(0, 257).Select(i => (ulong)i));
        var both = new LookupSymbolsRequest { Pattern = "demo!*" };
        both.Addresses.Add(0x100000);

        // Act
        LookupSymbolsResponse longPattern = dispatcher.Handle(new HostToAgent { LookupSymbols = new LookupSymbolsRequest { Pattern = new string('a', 257) } }).LookupSymbols;
        LookupSymbolsResponse manyAddresses = dispatcher.Handle(new HostToAgent { LookupSymbols = tooMany }).LookupSymbols;
        LookupSymbolsResponse bothAtOnce = dispatcher.Handle(new HostToAgent { LookupSymbols = both }).LookupSymbols;
        LookupSymbolsResponse neither = dispatcher.Handle(new HostToAgent { LookupSymbols = new LookupSymbolsRequest() }).LookupSymbols;

        // Assert
        Assert.That((longPattern.Status, longPattern.Message), Is.EqualTo((Status.LimitExceeded, "the symbol pattern is 257 characters; the limit is 256.")));
        Assert.That((manyAddresses.Status, manyAddresses.Message), Is.EqualTo((Status.LimitExceeded, "257 addresses in one symbol lookup; the limit is 256.")));
        Assert.That(bothAtOnce.Status, Is.EqualTo(Status.InvalidArgument));
        Assert.That(neither.Message, Is.EqualTo("a symbol lookup takes either a pattern or addresses."));
    }
}
