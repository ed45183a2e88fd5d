// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>Builds small VMs around guest programs written with Iced's assembler.</summary>
internal sealed class TestVm : IDisposable
{
    public const ulong LoadAddress = 0x10000;
    public const ulong DataAddress = 0x20000;

    private TestVm(VirtualMachine vm, StandardDevices devices)
    {
        Vm = vm;
        Devices = devices;
    }

    public VirtualMachine Vm { get; }

    public StandardDevices Devices { get; }

    public Vcpu Core0 => Vm.Cores[0];

    /// <summary>A 64-bit guest: the program is assembled at <see cref="LoadAddress"/>; labels resolve via the result.</summary>
    public static TestVm Create64(Action<Assembler> program) => CreateMulti64(a =>
    {
        program(a);
        return [];
    }, 1);

    /// <summary>A 64-bit guest on one core whose program returns labels; <paramref name="labels"/> gets their addresses.
    /// The devices' clock follows <paramref name="time"/> (default: the system's).</summary>
    public static TestVm Create64(Func<Assembler, IReadOnlyList<Label>> program, out ulong[] labels, TimeProvider? time = null)
    {
        (byte[] code, ulong[] addresses) = Assemble(64, LoadAddress, program);
        var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm, time);
        vm.AddCores(new Flat64Guest(code, LoadAddress, "test").Load(vm));
        labels = addresses;
        return new TestVm(vm, devices);
    }

    /// <summary>A 64-bit guest on a machine with APICs (<see cref="VmConfiguration.Apic"/>) whose program returns labels
    /// (the first <paramref name="cores"/> are the cores' entries when there is more than one core).</summary>
    public static TestVm CreateApic64(Func<Assembler, IReadOnlyList<Label>> program, out ulong[] labels, int cores = 1, TimeProvider? time = null)
    {
        (byte[] code, ulong[] addresses) = Assemble(64, LoadAddress, program);
        var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 16 * 1024 * 1024, Cores = cores, Apic = true });
        StandardDevices devices = StandardDevices.Attach(vm, time);
        vm.AddCores(new Flat64Guest(code, LoadAddress, "test", cores > 1 ? addresses[..cores] : null).Load(vm));
        labels = addresses;
        return new TestVm(vm, devices);
    }

    /// <summary>
    /// A machine with APICs whose bootstrap processor runs <paramref name="program"/> in long mode (assembled at
    /// <see cref="LoadAddress"/>) and whose <paramref name="cores"/> - 1 application processors wait for a start-up IPI
    /// (<see cref="CoreStartMode.WaitForStartup"/>); each of <paramref name="realMode"/> is assembled as 16-bit code at
    /// offset 0 of its segment and loaded at its physical address.
    /// </summary>
    public static TestVm CreateWithWaitingApplicationProcessors(Action<Assembler> program, int cores, params (ulong Address, Action<Assembler> Code)[] realMode)
    {
        (byte[] code, _) = Assemble(64, LoadAddress, a =>
        {
            program(a);
            return [];
        });
        var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 16 * 1024 * 1024, Cores = cores, Apic = true });
        StandardDevices devices = StandardDevices.Attach(vm);
        CoreStart bsp = new Flat64Guest(code, LoadAddress, "test").Load(vm)[0];
        foreach ((ulong address, Action<Assembler> ap) in realMode)
        {
            (byte[] apCode, _) = Assemble(16, 0, a =>
            {
                ap(a);
                return [];
            });
            vm.Memory.Load(address, apCode);
        }

        vm.AddCores([bsp, .. Enumerable.Repeat(new CoreStart(CoreStartMode.WaitForStartup, 0, 0, 0), cores - 1)]);
        return new TestVm(vm, devices);
    }

    /// <summary>A 64-bit guest whose program returns each core's entry label.</summary>
    public static TestVm CreateMulti64(Func<Assembler, IReadOnlyList<Label>> program, int cores)
    {
        (byte[] code, ulong[] entries) = Assemble(64, LoadAddress, program);
        var vm = new VirtualMachine(new VmConfiguration { Cores = cores, MemoryBytes = 16 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm);
        vm.AddCores(new Flat64Guest(code, LoadAddress, "test", entries.Length == 0 ? null : entries).Load(vm));
        return new TestVm(vm, devices);
    }

    /// <summary>A real-mode guest at 0000:7C00.</summary>
    public static TestVm Create16(Action<Assembler> program)
    {
        (byte[] code, _) = Assemble(16, 0x7C00, a =>
        {
            program(a);
            return [];
        });
        var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });
        StandardDevices devices = StandardDevices.Attach(vm);
        vm.AddCores(new Flat16Guest(code, 0, 0x7C00, "test16").Load(vm));
        return new TestVm(vm, devices);
    }

    public static (byte[] Code, ulong[] Entries) Assemble(int bitness, ulong origin, Func<Assembler, IReadOnlyList<Label>> program)
    {
        var a = new Assembler(bitness);
        IReadOnlyList<Label> labels = program(a);
        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), origin, BlockEncoderOptions.ReturnNewInstructionOffsets);
        ulong[] addresses = labels.Select(l => result.GetLabelRIP(l)).ToArray();
        return (stream.ToArray(), addresses);
    }

    /// <summary>Runs until the guest stops by itself (HLT on every core, debug exit) and asserts it did within the time.</summary>
    public VmStopInfo Run(int timeoutMs = 10_000)
    {
        Vm.Start();
        VmStopInfo? info = Vm.WaitForStop(TimeSpan.FromMilliseconds(timeoutMs));
        Assert.That(info, Is.Not.Null, "the guest did not stop in time");
        Assert.That(info!.Reason, Is.Not.EqualTo(VmStopReason.Fault), info.Report);
        return info;
    }

    public void Dispose() => Vm.Dispose();
}
