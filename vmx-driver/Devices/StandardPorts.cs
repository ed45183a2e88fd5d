// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>The PC port numbers the standard devices use.</summary>
public static class StandardPorts
{
    public const ushort Com1 = 0x3F8;
    public const ushort Com2 = 0x2F8;
    public const ushort Com3 = 0x3E8;
    public const ushort Com4 = 0x2E8;
    public const ushort DebugConsole = 0x402;
    public const ushort BochsDebugPort = 0xE9;
    public const ushort PostCode = 0x80;
    public const ushort CmosIndex = 0x70;
    public const ushort CmosData = 0x71;
    public const ushort PitChannel0 = 0x40;
    public const ushort PitChannel2 = 0x42;
    public const ushort PitCommand = 0x43;

    /// <summary>System control port B (NMI status and control): PIT channel 2 gate, speaker, refresh and OUT2.</summary>
    public const ushort SystemControlB = 0x61;
    public const ushort PicMaster = 0x20;
    public const ushort PicSlave = 0xA0;

    /// <summary>PIIX edge/level control register of the master PIC (IRQ 0–7).</summary>
    public const ushort ElcrMaster = 0x4D0;

    /// <summary>PIIX edge/level control register of the slave PIC (IRQ 8–15).</summary>
    public const ushort ElcrSlave = 0x4D1;
    public const ushort SystemControlA = 0x92;
    public const ushort I8042Data = 0x60;
    public const ushort I8042Status = 0x64;
    public const ushort PciConfigAddress = 0xCF8;
    public const ushort PciConfigData = 0xCFC;

    /// <summary>PIIX3 reset control register (a byte inside the 0xCF8 dword).</summary>
    public const ushort ResetControl = 0xCF9;
    public const ushort FwCfgSelector = 0x510;
    public const ushort FwCfgData = 0x511;

    /// <summary>fw_cfg's DMA address register: the high half (big-endian) at 0x514, the low half at 0x518.</summary>
    public const ushort FwCfgDma = 0x514;

    /// <summary>QEMU's isa-debug-exit default iobase.</summary>
    public const ushort DebugExit = 0x501;

    /// <summary>The four COM ports in order.</summary>
    public static ReadOnlySpan<ushort> ComPorts => [Com1, Com2, Com3, Com4];
}
