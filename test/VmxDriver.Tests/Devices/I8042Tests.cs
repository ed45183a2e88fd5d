// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>The i8042 with its keyboard and mouse, as Linux's i8042 and atkbd/psmouse drivers talk to it.</summary>
public sealed class I8042Tests
{
    private RecordingLine _kbdIrq = null!;
    private RecordingLine _auxIrq = null!;
    private RecordingReset _reset = null!;
    private I8042 _kbc = null!;

    [SetUp]
    public void SetUp()
    {
        _kbdIrq = new RecordingLine();
        _auxIrq = new RecordingLine();
        _reset = new RecordingReset();
        _kbc = new I8042(_kbdIrq, _auxIrq, _reset);
    }

    private byte Status() => _kbc.ReadByte(0x64);

    private byte[] Command(byte command, params byte[] data)
    {
        _kbc.WriteByte(0x64, command);
        foreach (byte b in data)
        {
            _kbc.WriteByte(0x60, b);
        }

        return Drain();
    }

    private byte[] Drain()
    {
        var bytes = new List<byte>();
        while ((Status() & 0x01) != 0 && bytes.Count < 32)
        {
            bytes.Add(_kbc.ReadByte(0x60));
        }

        return [.. bytes];
    }

    [Test]
    public void Reset_StatusAndCommandByteAsQemu()
    {
        Assert.That(Status(), Is.EqualTo(0x18), "command/data flag and keyboard unlocked");
        Assert.That(Command(0x20), Is.EqualTo(new byte[] { 0x03 }), "keyboard and mouse interrupts enabled");
    }

    [TestCase((byte)0xAA, (byte)0x55, Description = "controller self-test")]
    [TestCase((byte)0xAB, (byte)0x00, Description = "keyboard interface test")]
    [TestCase((byte)0xA9, (byte)0x00, Description = "aux interface test")]
    [TestCase((byte)0xC0, (byte)0x80, Description = "input port")]
    public void ControllerCommand_Replies(byte command, byte reply) =>
        Assert.That(Command(command), Is.EqualTo(new[] { reply }));

    [Test]
    public void SelfTest_SetsTheSystemFlag() =>
        Assert.That((Command(0xAA)[0], Status() & 0x04), Is.EqualTo(((byte)0x55, 0x04)));

    [Test]
    public void CommandByte_WriteAndReadBack_PortDisableBits()
    {
        Command(0x60, 0x47);
        Command(0xA7);
        Assert.That(Command(0x20), Is.EqualTo(new byte[] { 0x67 }));
        Command(0xA8);
        Command(0xAD);
        Assert.That(Command(0x20), Is.EqualTo(new byte[] { 0x57 }));
    }

    [TestCase(new byte[] { 0xFF }, new byte[] { 0xFA, 0xAA }, Description = "reset: ACK and BAT passed")]
    [TestCase(new byte[] { 0xF2 }, new byte[] { 0xFA, 0xAB, 0x83 }, Description = "get ID, no translation")]
    [TestCase(new byte[] { 0xED, 0x07 }, new byte[] { 0xFA, 0xFA }, Description = "set LEDs")]
    [TestCase(new byte[] { 0xF0, 0x00 }, new byte[] { 0xFA, 0xFA, 0x02 }, Description = "get scancode set")]
    [TestCase(new byte[] { 0xEE }, new byte[] { 0xEE }, Description = "echo")]
    [TestCase(new byte[] { 0xF4 }, new byte[] { 0xFA }, Description = "enable")]
    [TestCase(new byte[] { 0x01 }, new byte[] { 0xFE }, Description = "unknown: resend")]
    public void Keyboard_Commands(byte[] sent, byte[] replies)
    {
        var got = new List<byte>();
        foreach (byte b in sent)
        {
            _kbc.WriteByte(0x60, b);
            got.AddRange(Drain());
        }

        Assert.That(got, Is.EqualTo(replies));
    }

    [Test]
    public void Keyboard_GetIdWithTranslation_Says41()
    {
        Command(0x60, 0x43);
        _kbc.WriteByte(0x60, 0xF2);
        Assert.That(Drain(), Is.EqualTo(new byte[] { 0xFA, 0xAB, 0x41 }));
    }

    [TestCase(new byte[] { 0xFF }, new byte[] { 0xFA, 0xAA, 0x00 }, Description = "reset: ACK, BAT, ID 0")]
    [TestCase(new byte[] { 0xF2 }, new byte[] { 0xFA, 0x00 }, Description = "get type: standard mouse")]
    [TestCase(new byte[] { 0xF3, 0x28 }, new byte[] { 0xFA, 0xFA }, Description = "sample rate 40")]
    [TestCase(new byte[] { 0xE9 }, new byte[] { 0xFA, 0x00, 0x02, 0x64 }, Description = "status: resolution 2, 100 samples/s")]
    public void Mouse_CommandsThroughD4(byte[] sent, byte[] replies)
    {
        var got = new List<byte>();
        foreach (byte b in sent)
        {
            _kbc.WriteByte(0x64, 0xD4);
            _kbc.WriteByte(0x60, b);
            while ((Status() & 0x01) != 0)
            {
                Assert.That(Status() & 0x20, Is.EqualTo(0x20), "mouse data has the aux flag");
                got.Add(_kbc.ReadByte(0x60));
            }
        }

        Assert.That(got, Is.EqualTo(replies));
    }

    [Test]
    public void Interrupts_KeyboardDataIrq1_AuxDataIrq12_OneEdgePerByte()
    {
        // Keyboard reset replies two bytes: two IRQ1 edges, the second after the first byte is read.
        _kbc.WriteByte(0x60, 0xFF);
        Assert.That((_kbdIrq.High, _kbdIrq.RisingEdges), Is.EqualTo((true, 1)));
        _kbc.ReadByte(0x60);
        Assert.That(_kbdIrq.RisingEdges, Is.EqualTo(2));
        _kbc.ReadByte(0x60);
        Assert.That(_kbdIrq.High, Is.False);

        // 0xD3 writes a byte as if from the mouse (Linux's AUX loop test): IRQ12.
        _kbc.WriteByte(0x64, 0xD3);
        _kbc.WriteByte(0x60, 0x5A);
        Assert.That((_auxIrq.High, Status() & 0x21, _kbc.ReadByte(0x60)), Is.EqualTo((true, 0x21, (byte)0x5A)));
        Assert.That(_auxIrq.High, Is.False);
    }

    [Test]
    public void Interrupts_Disabled_NoIrqButDataStillThere()
    {
        Command(0x60, 0x00);
        _kbc.WriteByte(0x60, 0xF4);
        Assert.That((_kbdIrq.High, Status() & 0x01), Is.EqualTo((false, 0x01)));
    }

    [TestCase((byte)0xFE, true)]
    [TestCase((byte)0xF0, true)]
    [TestCase((byte)0xFC, true)]
    [TestCase((byte)0xFF, false)]
    [TestCase((byte)0xF1, false)]
    public void Pulse_Bit0Low_ResetsTheMachine(byte command, bool resets)
    {
        _kbc.WriteByte(0x64, command);
        Assert.That(_reset.Requests, Has.Count.EqualTo(resets ? 1 : 0));
        if (resets)
        {
            Assert.That(_reset.Requests[0], Does.Contain($"0x{command:X2}"));
        }
    }

    [Test]
    public void OutputPort_WriteWithResetBitClear_ResetsAndA20Follows()
    {
        Assert.That(Command(0xD0), Is.EqualTo(new byte[] { 0xCF }), "reset line high, A20 on, QEMU's ones");
        Command(0xD1, 0xCD);
        Assert.That((_kbc.A20, _reset.Requests.Count), Is.EqualTo((false, 0)));
        Command(0xD1, 0xCE);
        Assert.That(_reset.Requests, Has.Count.EqualTo(1));
    }
}
