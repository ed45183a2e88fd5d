// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Microsoft.Extensions.Time.Testing;

namespace HyperDbgRemote.VmxDriver.Tests.Devices;

/// <summary>The 16550A at COM1, against the datasheet's register behaviour and QEMU's serial.c.</summary>
public sealed class Uart16550Tests : IDisposable
{
    private const ushort Rbr = 0x3F8;
    private const ushort Ier = 0x3F9;
    private const ushort Iir = 0x3FA;
    private const ushort Fcr = 0x3FA;
    private const ushort Lcr = 0x3FB;
    private const ushort Mcr = 0x3FC;
    private const ushort Lsr = 0x3FD;
    private const ushort Msr = 0x3FE;
    private const ushort Scr = 0x3FF;

    private FakeTimeProvider _host = null!;
    private VirtualClock _clock = null!;
    private RecordingLine _irq = null!;
    private Uart16550 _uart = null!;

    [SetUp]
    public void SetUp()
    {
        _host = new FakeTimeProvider();
        _clock = new VirtualClock(_host);
        _irq = new RecordingLine();
        _uart = new Uart16550(0x3F8, _irq, _clock);
    }

    [TearDown]
    public void Dispose() => _clock?.Dispose();

    [Test]
    public void Reset_RegistersAsQemu()
    {
        Assert.That(
            (_uart.ReadByte(Ier), _uart.ReadByte(Iir), _uart.ReadByte(Lcr), _uart.ReadByte(Mcr), _uart.ReadByte(Lsr), _uart.ReadByte(Msr)),
            Is.EqualTo(((byte)0x00, (byte)0x01, (byte)0x00, (byte)0x08, (byte)0x60, (byte)0xB0)));
        Assert.That(_uart.Divisor, Is.EqualTo(0x0C), "9600 baud");
        Assert.That(_irq.High, Is.False);
    }

    [Test]
    public void DivisorLatchAndScratch_ReadBack()
    {
        _uart.WriteByte(Lcr, 0x83);
        _uart.WriteByte(Rbr, 0x01);
        _uart.WriteByte(Ier, 0x00);
        Assert.That((_uart.ReadByte(Rbr), _uart.ReadByte(Ier)), Is.EqualTo(((byte)1, (byte)0)));
        _uart.WriteByte(Lcr, 0x03);
        _uart.WriteByte(Scr, 0x5A);
        Assert.That((_uart.Divisor, _uart.ReadByte(Scr), _uart.ReadByte(Lcr)), Is.EqualTo(((ushort)1, (byte)0x5A, (byte)0x03)));
    }

    [Test]
    public void ThrEmptyInterrupt_RaisedByIer_ClearedByIirRead_RaisedAgainByIerToggle()
    {
        // Linux's THRE test: IER = THRI with THR empty raises it; reading IIR clears it; toggling IER raises it again.
        _uart.WriteByte(Ier, 0x02);
        Assert.That((_uart.ReadByte(Iir) & 0x0F, _irq.High), Is.EqualTo((0x02, false)), "read clears");
        Assert.That(_uart.ReadByte(Iir) & 0x0F, Is.EqualTo(0x01));
        _uart.WriteByte(Ier, 0x00);
        _uart.WriteByte(Ier, 0x02);
        Assert.That(_irq.High, Is.True);
        Assert.That(_uart.ReadByte(Iir) & 0x0F, Is.EqualTo(0x02));
    }

    [Test]
    public void Transmit_CapturesAndRaisesThrEmpty()
    {
        _uart.WriteByte(Ier, 0x02);
        _uart.ReadByte(Iir);
        _uart.WriteByte(Rbr, (byte)'A');
        Assert.That(_uart.Transmitted.Text(), Is.EqualTo("A"));
        Assert.That((_uart.ReadByte(Lsr) & 0x60, _irq.High), Is.EqualTo((0x60, true)), "sent at once: THR empty again");
    }

    [Test]
    public void Receive_NoFifo_DataReadyInterrupt()
    {
        _uart.WriteByte(Ier, 0x01);
        _uart.Receive("xy"u8);
        Assert.That((_uart.ReadByte(Lsr) & 0x01, _uart.ReadByte(Iir) & 0x0F, _irq.High), Is.EqualTo((1, 0x04, true)));
        Assert.That(_uart.ReadByte(Rbr), Is.EqualTo((byte)'x'));
        Assert.That(_uart.ReadByte(Rbr), Is.EqualTo((byte)'y'), "the next byte follows into RBR");
        Assert.That((_uart.ReadByte(Lsr) & 0x01, _irq.High), Is.EqualTo((0, false)));
    }

    [TestCase((byte)0x01, 1)]
    [TestCase((byte)0x41, 4)]
    [TestCase((byte)0x81, 8)]
    [TestCase((byte)0xC1, 14)]
    public void Fifo_ReceivedDataInterruptAtTheTriggerLevel(byte fcr, int level)
    {
        // Arrange
        _uart.WriteByte(Fcr, (byte)(fcr | 0x06));
        _uart.WriteByte(Ier, 0x01);
        Assert.That(_uart.ReadByte(Iir) & 0xC0, Is.EqualTo(0xC0), "FIFOs enabled");

        // Act / Assert: one byte short of the level gives no interrupt yet, the level does.
        if (level > 1)
        {
            _uart.Receive(new byte[level - 1]);
            Assert.That(_irq.High, Is.False);
        }

        _uart.Receive(new byte[20]);
        Assert.That(_uart.ReadByte(Iir) & 0x0F, Is.EqualTo(0x04));
    }

    [Test]
    public void Fifo_FewerBytesThanTheLevel_CharacterTimeoutAfterFourCharacterTimes()
    {
        // Arrange: 115200 baud 8N1 (10 bits: 86.8 µs a character), trigger level 8.
        _uart.WriteByte(Lcr, 0x83);
        _uart.WriteByte(Rbr, 0x01);
        _uart.WriteByte(Lcr, 0x03);
        _uart.WriteByte(Fcr, 0x87);
        _uart.WriteByte(Ier, 0x01);
        _uart.Receive("ls\r"u8);

        // Act / Assert
        _host.Advance(TimeSpan.FromMicroseconds(340));
        Assert.That(_irq.High, Is.False);
        _host.Advance(TimeSpan.FromMicroseconds(10));
        Assert.That(_uart.ReadByte(Iir) & 0x0F, Is.EqualTo(0x0C), "character timeout");
        Assert.That(new[] { _uart.ReadByte(Rbr), _uart.ReadByte(Rbr), _uart.ReadByte(Rbr) }, Is.EqualTo("ls\r"u8.ToArray()));
        Assert.That((_uart.ReadByte(Iir) & 0x0F, _irq.High), Is.EqualTo((0x01, false)));
    }

    [Test]
    public void Loopback_TransmitIsReceived_OverrunIsALineStatusInterrupt()
    {
        // Arrange: loopback with all modem outputs; no FIFO; line status and data interrupts.
        _uart.WriteByte(Mcr, 0x1F);
        _uart.WriteByte(Ier, 0x05);
        Assert.That(_uart.ReadByte(Msr) & 0xF0, Is.EqualTo(0xF0), "outputs loop to DCD, RI, DSR, CTS");

        // Act
        _uart.WriteByte(Rbr, (byte)'1');
        _uart.WriteByte(Rbr, (byte)'2');

        // Assert
        Assert.That(_uart.Transmitted.Total, Is.Zero, "nothing leaves in loopback");
        Assert.That(_uart.ReadByte(Iir) & 0x0F, Is.EqualTo(0x06), "the overrun outranks the data");
        Assert.That(_uart.ReadByte(Lsr) & 0x03, Is.EqualTo(0x03), "DR | OE");
        Assert.That(_uart.ReadByte(Lsr) & 0x02, Is.Zero, "reading LSR clears OE");
        Assert.That(_uart.ReadByte(Rbr), Is.EqualTo((byte)'2'));
        Assert.That(_uart.Overruns, Is.EqualTo(1));
    }

    [Test]
    public void Sink_Full_HoldsTheByteWithTransmitterNotEmpty_ThenSendsInOrder()
    {
        // Arrange
        var sink = new GatedSink();
        _uart.AttachSink(sink);

        // Act: the sink refuses; the guest's next byte waits in THR.
        sink.Open = false;
        _uart.WriteByte(Rbr, (byte)'a');
        _uart.WriteByte(Rbr, (byte)'b');
        byte lsr = _uart.ReadByte(Lsr);
        sink.Open = true;
        _uart.SinkReady();

        // Assert
        Assert.That(lsr & 0x60, Is.Zero, "THR holds 'b', the shift register 'a'");
        Assert.That(sink.Bytes, Is.EqualTo("ab"u8.ToArray()));
        Assert.That(_uart.Transmitted.Text(), Is.EqualTo("ab"));
        Assert.That(_uart.ReadByte(Lsr) & 0x60, Is.EqualTo(0x60));
    }

    [Test]
    public void Receive_InputQueueFull_TakesWhatFitsAndWaitsForSpace()
    {
        byte[] flood = new byte[Uart16550.InputCapacity + 100];
        Assert.That(_uart.Receive(flood), Is.EqualTo(Uart16550.InputCapacity));
        Assert.That(_uart.Receive(flood), Is.EqualTo(1), "one byte went on into RBR, making room for one");
        Assert.That(_uart.Receive(flood), Is.Zero);
        Assert.That(_uart.WaitForInputSpace(TimeSpan.Zero), Is.False);
        _uart.ReadByte(Rbr);
        Assert.That(_uart.WaitForInputSpace(TimeSpan.Zero), Is.True);
    }

    private sealed class GatedSink : ISerialSink
    {
        public bool Open { get; set; } = true;

        public List<byte> Bytes { get; } = [];

        public bool TryWrite(byte value)
        {
            if (Open)
            {
                Bytes.Add(value);
            }

            return Open;
        }
    }
}
