// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>The PC devices every VM gets, registered on its bus (the composition root of the guest's world).</summary>
public sealed class StandardDevices
{
    private StandardDevices(VirtualMachine vm, TimeProvider time)
    {
        Uarts = [new Uart16550(StandardPorts.Com1), new Uart16550(StandardPorts.Com2), new Uart16550(StandardPorts.Com3), new Uart16550(StandardPorts.Com4)];
        DebugConsole = new DebugConsole();
        BochsPort = new DebugConsole();
        PostCode = new PostCodePort();
        Cmos = new Cmos(vm.Configuration.MemoryBytes, vm.Configuration.Cores, time);
        Pit = new Pit8254(time);
        Pic = new Pic8259();
        SystemControl = new SystemControlPort();
        Keyboard = new I8042();
        Pci = new PciHostBridge();
        FwCfg = new FwCfg(vm.Configuration.MemoryBytes, vm.Configuration.Cores);
        DebugExit = new DebugExitPort(vm);
    }

    /// <summary>COM1–COM4.</summary>
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

    public SystemControlPort SystemControl { get; }

    public I8042 Keyboard { get; }

    public PciHostBridge Pci { get; }

    public FwCfg FwCfg { get; }

    public DebugExitPort DebugExit { get; }

    /// <summary>Creates the devices and registers them on <paramref name="vm"/>'s bus.</summary>
    public static StandardDevices Attach(VirtualMachine vm, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var d = new StandardDevices(vm, time ?? TimeProvider.System);
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
        bus.Register(StandardPorts.PicMaster, 2, d.Pic);
        bus.Register(StandardPorts.PicSlave, 2, d.Pic);
        bus.Register(StandardPorts.SystemControlA, 1, d.SystemControl);
        bus.Register(StandardPorts.I8042Data, 1, d.Keyboard);
        bus.Register(StandardPorts.I8042Status, 1, d.Keyboard);
        bus.Register(StandardPorts.PciConfigAddress, PciHostBridge.PortCount, d.Pci);
        bus.Register(StandardPorts.FwCfgSelector, 2, d.FwCfg);
        bus.Register(StandardPorts.DebugExit, 2, d.DebugExit);
        return d;
    }
}
