// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>Configuration mechanism #1 with the i440FX (00:00.0) and PIIX3 (00:01.0) as QEMU 7.2 presents them.</summary>
public sealed class PciHostBridgeTests
{
    private RecordingReset _reset = null!;
    private PciHostBridge _pci = null!;

    [SetUp]
    public void SetUp()
    {
        _reset = new RecordingReset();
        _pci = new PciHostBridge(256UL * 1024 * 1024, _reset);
    }

    private uint Read(int device, int function, int register)
    {
        _pci.WriteDword(0xCF8, 0x8000_0000u | (uint)(device << 11) | (uint)(function << 8) | (uint)register);
        return _pci.ReadDword(0xCFC);
    }

    private void Write(int device, int function, int register, uint value)
    {
        _pci.WriteDword(0xCF8, 0x8000_0000u | (uint)(device << 11) | (uint)(function << 8) | (uint)register);
        _pci.WriteDword(0xCFC, value);
    }

    // QEMU facts: i440fx.c (8086:1237 rev 2, class 0600, SMRAM 0x02), piix3.c (8086:7000, class 0601, piix3_reset
    // values), the PCI core (subsystem 1af4:1100); PIIX3 is created multifunction (header type 0x80).
    [TestCase(0, 0, 0x00, 0x1237_8086u, Description = "i440FX vendor/device")]
    [TestCase(0, 0, 0x04, 0x0000_0000u, Description = "i440FX command/status at reset")]
    [TestCase(0, 0, 0x08, 0x0600_0002u, Description = "i440FX class 0600, revision 2")]
    [TestCase(0, 0, 0x0C, 0x0000_0000u, Description = "i440FX header type 0")]
    [TestCase(0, 0, 0x2C, 0x1100_1AF4u, Description = "i440FX subsystem: what SeaBIOS checks")]
    [TestCase(0, 0, 0x70, 0x0002_0000u, Description = "i440FX SMRAM (0x72) = 0x02")]
    [TestCase(0, 0, 0x54, 0x2000_0000u, Description = "i440FX 0x57: RAM in 8 MiB units (256 MiB)")]
    [TestCase(1, 0, 0x00, 0x7000_8086u, Description = "PIIX3 vendor/device")]
    [TestCase(1, 0, 0x04, 0x0200_0007u, Description = "PIIX3 command 7, status devsel medium")]
    [TestCase(1, 0, 0x08, 0x0601_0000u, Description = "PIIX3 class 0601")]
    [TestCase(1, 0, 0x0C, 0x0080_0000u, Description = "PIIX3 multi-function header")]
    [TestCase(1, 0, 0x2C, 0x1100_1AF4u, Description = "PIIX3 subsystem")]
    [TestCase(1, 0, 0x60, 0x8080_8080u, Description = "PIRQA–D routing disabled")]
    [TestCase(1, 0, 0x4C, 0x0003_004Du, Description = "PIIX3 0x4C/0x4E reset values")]
    [TestCase(1, 1, 0x00, 0xFFFF_FFFFu, Description = "no IDE function")]
    [TestCase(2, 0, 0x00, 0xFFFF_FFFFu, Description = "no device 2")]
    public void Config_ReadsAsQemu(int device, int function, int register, uint expected) =>
        Assert.That(Read(device, function, register), Is.EqualTo(expected));

    [Test]
    public void Config_DisabledOrOtherBus_ReadsAllOnes()
    {
        _pci.WriteDword(0xCF8, 0x0000_0000);
        Assert.That(_pci.ReadDword(0xCFC), Is.EqualTo(0xFFFF_FFFFu), "enable bit clear");
        _pci.WriteDword(0xCF8, 0x8001_0000);
        Assert.That(_pci.ReadDword(0xCFC), Is.EqualTo(0xFFFF_FFFFu), "bus 1");
    }

    [Test]
    public void Config_ByteAndWordAccessesWithinTheDword()
    {
        _pci.WriteDword(0xCF8, 0x8000_0800);
        Assert.That((_pci.ReadByte(0xCFE), _pci.ReadWord(0xCFE)), Is.EqualTo(((byte)0x00, (ushort)0x7000)));
    }

    [Test]
    public void Config_ReadOnlyIdentity_WritableChipsetRegisters()
    {
        Write(0, 0, 0x00, 0x1234_5678);
        Assert.That(Read(0, 0, 0x00), Is.EqualTo(0x1237_8086u));
        Write(0, 0, 0x58, 0x3333_3000);
        Assert.That(Read(0, 0, 0x58), Is.EqualTo(0x3333_3000u), "PAM");
        Write(1, 0, 0x60, 0x0B0B_0A0A);
        Assert.That((_pci.IsaBridge.PirqRoute(0), _pci.IsaBridge.PirqRoute(2)), Is.EqualTo(((int?)10, (int?)11)), "SeaBIOS's routing");
        Write(1, 0, 0x60, 0x8080_8080);
        Assert.That(_pci.IsaBridge.PirqRoute(0), Is.Null);
    }

    [Test]
    public void AddressRegister_TakesDwordWritesOnly()
    {
        _pci.WriteDword(0xCF8, 0x8000_0000);
        _pci.WriteByte(0xCF8, 0x08);
        _pci.WriteWord(0xCFA, 0x1234);
        Assert.That(_pci.ReadDword(0xCF8), Is.EqualTo(0x8000_0000u));
    }

    [Test]
    public void ResetControl_Cf9_KeepsTheResetTypeAndResetsOnBit2()
    {
        _pci.WriteByte(0xCF9, 0x02);
        Assert.That((_pci.ReadByte(0xCF9), _reset.Requests.Count), Is.EqualTo(((byte)0x02, 0)));
        _pci.WriteByte(0xCF9, 0x06);
        Assert.That(_reset.Requests, Has.Count.EqualTo(1));
        Assert.That(_reset.Requests[0], Does.Contain("0xCF9"));
    }

    [Test]
    public void Port92_A20AndFastResetOnARisingBit0()
    {
        var port = new SystemControlPort(_reset);
        port.WriteByte(0x92, 0x02);
        Assert.That((port.ReadByte(0x92), port.A20, _reset.Requests.Count), Is.EqualTo(((byte)0x02, true, 0)));
        port.WriteByte(0x92, 0x03);
        port.WriteByte(0x92, 0x03);
        Assert.That(_reset.Requests, Has.Count.EqualTo(1), "only the rising edge resets");
    }
}
