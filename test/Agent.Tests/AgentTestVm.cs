// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>Guest programs the event tests share.</summary>
internal static class TestPrograms
{
    /// <summary>Writes "ABC" to COM1 one OUT at a time, selects CMOS register 0x15 and reads it into RBX, halts.</summary>
    public static void PrintAbc(Assembler a)
    {
        a.mov(dx, 0x3F8);
        foreach (char c in "ABC")
        {
            a.mov(al, (byte)c);
            a.@out(dx, al);
        }

        a.mov(al, 0x15);
        a.@out(0x70, al);
        a.@in(al, 0x71);
        a.mov(rbx, rax);
        a.hlt();
    }

    /// <summary>An agent session (not started) whose guest loops on <c>mov al, 'Z'; out 80h, al; inc rbx</c> at 0x10000.</summary>
    public static DebuggeeSession OutLoopSession()
    {
        var a = new Assembler(64);
        Label loop = a.CreateLabel();
        a.Label(ref loop);
        a.mov(al, (byte)'Z');
        a.@out(0x80, al);
        a.inc(rbx);
        a.jmp(loop);
        using var s = new MemoryStream();
        a.Assemble(new StreamCodeWriter(s), 0x10000);
        return new DebuggeeSession(new Flat64Guest(s.ToArray(), 0x10000), new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });
    }
}

/// <summary>A VM with a 64-bit guest program and an event manager as its exit handler.</summary>
internal sealed class AgentTestVm : IDisposable
{
    public const ulong LoadAddress = 0x10000;
    public const ulong DataAddress = 0x20000;

    public AgentTestVm(Action<Assembler> program, int cores = 1)
    {
        var a = new Assembler(64);
        program(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), LoadAddress);
        Vm = new VirtualMachine(new VmConfiguration { Cores = cores, MemoryBytes = 16 * 1024 * 1024 });
        Devices = StandardDevices.Attach(Vm);
        Vm.AddCores(new Flat64Guest(stream.ToArray(), LoadAddress, "test").Load(Vm));
        Events = new EventManager(Vm, Output);
        Vm.ExitHandler = Events;
    }

    public VirtualMachine Vm { get; }

    public StandardDevices Devices { get; }

    public RecordingOutput Output { get; } = new();

    public EventManager Events { get; }

    public VmStopInfo Run()
    {
        Vm.Start();
        VmStopInfo info = Vm.WaitForStop(TimeSpan.FromSeconds(20)) ?? throw new AssertionException("the guest did not stop");
        Assert.That(info.Reason, Is.Not.EqualTo(VmStopReason.Fault), info.Report);
        return info;
    }

    public void Dispose()
    {
        Vm.Dispose();
        Events.Dispose();
    }
}

internal sealed class RecordingOutput : IEventOutput
{
    public List<(int Event, string Text)> Messages { get; } = [];

    public List<(EventLogLevel Level, string Text)> Logs { get; } = [];

    public void ScriptOutput(RegisteredEvent source, string text) => Messages.Add((source.Id, text));

    public void Log(EventLogLevel level, string text) => Logs.Add((level, text));

    public int Discarded { get; private set; }

    public int DiscardPending()
    {
        Discarded++;
        return 0;
    }
}

internal sealed class FakeScript(Func<EventInvocation, string?> body) : IEventScript
{
    public string? Run(EventInvocation invocation) => body(invocation);
}
