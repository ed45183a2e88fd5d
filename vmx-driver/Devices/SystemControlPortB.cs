// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// System control port B (0x61) as QEMU's PC speaker (hw/audio/pcspk.c) presents it: bit 0 is PIT channel 2's gate,
/// bit 1 the speaker data enable, bit 4 a refresh clock that toggles on every read, bit 5 channel 2's OUT. Linux
/// calibrates the TSC by gating channel 2 here and polling bit 5. No sound is produced.
/// </summary>
public sealed class SystemControlPortB : IIoPortHandler
{
    private const byte GateBit = 0x01;
    private const byte SpeakerDataBit = 0x02;
    private const byte RefreshBit = 0x10;
    private const byte Out2Bit = 0x20;
    private const int SpeakerChannel = 2;
    private readonly Pit8254 _pit;
    private int _speakerData;
    private int _reads;

    public SystemControlPortB(Pit8254 pit)
    {
        ArgumentNullException.ThrowIfNull(pit);
        _pit = pit;
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        int refresh = (Interlocked.Increment(ref _reads) & 1) != 0 ? RefreshBit : 0; // toggles on every read, as QEMU
        return (byte)((_pit.Gate(SpeakerChannel) ? GateBit : 0) | (Volatile.Read(ref _speakerData) != 0 ? SpeakerDataBit : 0) | refresh
            | (_pit.Output(SpeakerChannel) ? Out2Bit : 0));
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        Volatile.Write(ref _speakerData, value & SpeakerDataBit);
        _pit.SetGate(SpeakerChannel, (value & GateBit) != 0);
    }
}
