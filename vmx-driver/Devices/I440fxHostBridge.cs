// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The i440FX host bridge (PMC) at 00:00.0 as QEMU's hw/pci-host/i440fx.c presents it: 8086:1237 revision 2, class
/// 0600, subsystem 1af4:1100 (what SeaBIOS checks to detect QEMU), SMRAM (0x72) 0x02, and the RAM size in 8 MiB units
/// at 0x57 that old coreboot reads. The PAM registers 0x59–0x5F are writable; memory mapping stays as the loader set
/// it (the BIOS guest shadows its image itself).
/// </summary>
public sealed class I440fxHostBridge : PciFunction
{
    /// <summary>Intel 82441FX.</summary>
    public const ushort Device = 0x1237;

    /// <summary>Class code: host bridge.</summary>
    public const uint ClassHostBridge = 0x06_00_00;

    private const int CorebootRamSize = 0x57;
    private const int Smram = 0x72;

    public I440fxHostBridge(ulong ramBytes)
        : base(0x8086, Device, revision: 0x02, ClassHostBridge, headerType: 0)
    {
        Set(Smram, 0x02);
        Set(CorebootRamSize, (byte)Math.Min(ramBytes / (8 * 1024 * 1024), 255));
    }
}
