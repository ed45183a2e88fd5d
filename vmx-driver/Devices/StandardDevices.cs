// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The PC devices every VM gets, wired and registered on its bus: the composition root of the guest's world. The
/// platform follows QEMU's <c>pc</c> machine: the 8259 pair takes the ISA IRQs (PIT IRQ 0, i8042 IRQ 1 and 12, COM2/4
/// IRQ 3, COM1/3 IRQ 4, RTC IRQ 8); the PIT, the RTC and the UARTs' receive timeouts run on one
/// <see cref="VirtualClock"/>, which is also the VM's time base (frozen while the VM is halted); the PIC's INTR goes
/// to core 0 (on a machine with APICs, <see cref="VmConfiguration.Apic"/>, the ISA IRQs also reach the I/O APIC, each
/// core has its local APIC, and the PIC reaches core 0 through its LINT0); the i8042, port 0x92 and PIIX3's 0xCF9 reset the machine, which ends the run
/// (<see cref="VmStopReason.Reset"/>).
/// </summary>
public sealed class StandardDevices
{
    /// <summary>The ISA IRQ of each COM port (COM1–COM4), as QEMU's isa-serial.</summary>
    private static readonly int[] s_comIrqs = [4, 3, 4, 3];

    /// <summary>The NMI's vector (SDM Vol. 3A 6.3.1).</summary>
    private const int NmiVector = 2;

    private StandardDevices(VirtualMachine vm, StandardDevicesOptions options)
    {
        if (options.SerialPorts is < 1 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.SerialPorts, "A PC has 1 to 4 COM ports.");
        }

        ulong ram = vm.Configuration.MemoryBytes;
        var reset = new MachineReset(vm);
        Clock = new VirtualClock(options.Time);
        Pic = new Pic8259();
        var uarts = new List<Uart16550>();
        for (int i = 0; i < options.SerialPorts; i++)
        {
            uarts.Add(new Uart16550(StandardPorts.ComPorts[i], Pic.Line(s_comIrqs[i]), Clock));
        }

        Uarts = uarts;
        DebugConsole = new DebugConsole();
        BochsPort = new DebugConsole();
        PostCode = new PostCodePort();
        Cmos = new Cmos(ram, vm.Configuration.Cores, Clock, Pic.Line(8));
        Pit = new Pit8254(Clock, Pic.Line(0));
        SystemControlB = new SystemControlPortB(Pit);
        SystemControl = new SystemControlPort(reset);
        Keyboard = new I8042(Pic.Line(1), Pic.Line(12), reset);
        Pci = new PciHostBridge(ram, reset);
        FwCfg = new FwCfg(ram, vm.Configuration.Cores, vm);
        DebugExit = new DebugExitPort(vm);
        if (vm.Configuration.Apic)
        {
            ApicBus = new ApicBus();
            IoApic = new IoApic(ApicBus);
            Pic.IoApic = IoApic;
            var apics = new List<LocalApic>();
            for (int i = 0; i < vm.Configuration.Cores; i++)
            {
                apics.Add(new LocalApic((byte)i, bootstrap: i == 0, ApicBus, Clock, Pic));
            }

            LocalApics = apics;
        }
    }

    /// <summary>The APIC bus, on a machine with APICs (<see cref="VmConfiguration.Apic"/>); otherwise null.</summary>
    public ApicBus? ApicBus { get; }

    /// <summary>The I/O APIC at 0xFEC00000, on a machine with APICs; otherwise null.</summary>
    public IoApic? IoApic { get; }

    /// <summary>Each core's local APIC (core 0's first), on a machine with APICs; otherwise none.</summary>
    public IReadOnlyList<LocalApic> LocalApics { get; } = [];

    /// <summary>Guest time for the PIT and the RTC; the VM freezes it while halted.</summary>
    public VirtualClock Clock { get; }

    /// <summary>The interrupt controller the CPU asks for external interrupts.</summary>
    public IInterruptController InterruptController => Pic;

    /// <summary>The COM ports present, COM1 first.</summary>
    public IReadOnlyList<Uart16550> Uarts { get; }

    /// <summary>COM1.</summary>
    public Uart16550 Com1 => Uarts[0];

    /// <summary>The debug console at 0x402.</summary>
    public DebugConsole DebugConsole { get; }

    /// <summary>The Bochs-style debug port at 0xE9.</summary>
    public DebugConsole BochsPort { get; }

    public PostCodePort PostCode { get; }

    public Cmos Cmos { get; }

    public Pit8254 Pit { get; }

    public Pic8259 Pic { get; }

    /// <summary>Port 0x61.</summary>
    public SystemControlPortB SystemControlB { get; }

    /// <summary>Port 0x92.</summary>
    public SystemControlPort SystemControl { get; }

    public I8042 Keyboard { get; }

    public PciHostBridge Pci { get; }

    public FwCfg FwCfg { get; }

    public DebugExitPort DebugExit { get; }

    /// <summary>Creates the devices and registers them on <paramref name="vm"/>'s bus.</summary>
    public static StandardDevices Attach(VirtualMachine vm, TimeProvider? time = null) => Attach(vm, new StandardDevicesOptions { Time = time });

    /// <summary>Creates the devices as <paramref name="options"/> say and registers them on <paramref name="vm"/>'s bus.
    /// Their timers stop when the run ends.</summary>
    public static StandardDevices Attach(VirtualMachine vm, StandardDevicesOptions options)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(options);
        var d = new StandardDevices(vm, options);
        IoPortDispatcher bus = vm.Ports;
        foreach (Uart16550 uart in d.Uarts)
        {
            bus.Register(uart.BasePort, Uart16550.PortCount, uart);
        }

        bus.Register(StandardPorts.DebugConsole, 1, d.DebugConsole);
        bus.Register(StandardPorts.BochsDebugPort, 1, d.BochsPort);
        bus.Register(StandardPorts.PostCode, 1, d.PostCode);
        bus.Register(StandardPorts.CmosIndex, 2, d.Cmos);
        bus.Register(StandardPorts.PitChannel0, 4, d.Pit);
        bus.Register(StandardPorts.SystemControlB, 1, d.SystemControlB);
        bus.Register(StandardPorts.PicMaster, 2, d.Pic);
        bus.Register(StandardPorts.PicSlave, 2, d.Pic);
        bus.Register(StandardPorts.ElcrMaster, 2, d.Pic);
        bus.Register(StandardPorts.SystemControlA, 1, d.SystemControl);
        bus.Register(StandardPorts.I8042Data, 1, d.Keyboard);
        bus.Register(StandardPorts.I8042Status, 1, d.Keyboard);
        bus.Register(StandardPorts.PciConfigAddress, PciHostBridge.PortCount, d.Pci);
        bus.Register(StandardPorts.FwCfgSelector, 2, d.FwCfg);
        bus.Register(StandardPorts.FwCfgDma, FwCfg.DmaPortCount, d.FwCfg);
        bus.Register(StandardPorts.DebugExit, 2, d.DebugExit);
        if (d.IoApic is IoApic ioApic)
        {
            IReadOnlyList<LocalApic> apics = d.LocalApics;
            vm.MapMmio(IoApic.DefaultBase, GuestMemory.PageSize, _ => ioApic);
            vm.MapMmio(LocalApicRegisters.DefaultBase, GuestMemory.PageSize, core => apics[core]);
            foreach (LocalApic apic in apics)
            {
                int core = apic.Id;
                apic.NmiRequested += (_, _) => vm.Cores[core].TryInject(NmiVector);
                apic.InitRequested += (_, _) => vm.Cores[core].ReceiveInit();
                apic.StartupRequested += (_, vector) => vm.Cores[core].ReceiveStartup(vector);
            }

            vm.ConnectPlatform(core => apics[core], d.Clock);
        }
        else
        {
            vm.ConnectPlatform(d.Pic, d.Clock);
        }

        vm.Stopped += (_, _) => d.Clock.Dispose();
        return d;
    }
}
