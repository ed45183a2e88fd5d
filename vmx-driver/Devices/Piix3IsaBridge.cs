// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The PIIX3 PCI-to-ISA bridge, function 0 of 00:01.0, as QEMU's hw/isa/piix3.c presents it: 8086:7000, class 0601,
/// a multi-function header (QEMU creates it multifunction), subsystem 1af4:1100, the reset values of piix3_reset
/// (command 0x0007, status devsel medium, the PIRQ route registers 0x60–0x63 at 0x80 = disabled, …), and its reset
/// control register at port 0xCF9 (<see cref="WriteResetControl"/>).
/// </summary>
public sealed class Piix3IsaBridge : PciFunction
{
    /// <summary>Intel 82371SB PIIX3 ISA.</summary>
    public const ushort Device = 0x7000;

    /// <summary>Class code: ISA bridge.</summary>
    public const uint ClassIsaBridge = 0x06_01_00;

    /// <summary>PIRQA route control; PIRQB–D follow.</summary>
    public const int PirqRouteA = 0x60;

    /// <summary>PIRQ routes 0x80 and up are disabled.</summary>
    public const byte PirqDisabled = 0x80;

    private const byte ResetCpu = 0x04;
    private const byte SystemReset = 0x02;
    private readonly ISystemReset? _reset;
    private byte _resetControl;

    public Piix3IsaBridge(ISystemReset? reset = null)
        : base(0x8086, Device, revision: 0x00, ClassIsaBridge, MultiFunction)
    {
        _reset = reset;
        (int Offset, byte Value)[] resetValues =
        [
            (0x04, 0x07), (0x07, 0x02), (0x4C, 0x4D), (0x4E, 0x03), (0x60, 0x80), (0x61, 0x80), (0x62, 0x80), (0x63, 0x80),
            (0x69, 0x02), (0x70, 0x80), (0x76, 0x0C), (0x77, 0x0C), (0x78, 0x02), (0xA0, 0x08), (0xA8, 0x0F),
        ];
        foreach ((int offset, byte value) in resetValues)
        {
            Set(offset, value);
        }
    }

    /// <summary>The ISA IRQ PIRQ<paramref name="pirq"/> (0 = A … 3 = D) is routed to, or null when disabled.</summary>
    public int? PirqRoute(int pirq)
    {
        byte route = ConfigByte(PirqRouteA + pirq);
        return route < 16 ? route : null;
    }

    /// <summary>The reset control register's value (only its "system reset" bit 1 is kept).</summary>
    public byte ReadResetControl() => _resetControl;

    /// <summary>A write to port 0xCF9: bit 2 resets the machine; otherwise bit 1 (the reset type) is kept.</summary>
    public void WriteResetControl(byte value)
    {
        if ((value & ResetCpu) != 0)
        {
            _reset?.RequestReset($"PIIX3 reset control register 0xCF9 = 0x{value:X2}");
            return;
        }

        _resetControl = (byte)(value & SystemReset);
    }
}
