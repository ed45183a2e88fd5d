// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text;

namespace HyperDbgRemote.Agent.Gdb;

/// <summary>
/// The GDB remote serial protocol's framing, pure and without I/O (gdb docs, "Overview"): <c>$payload#cs</c> with a
/// two-digit modulo-256 checksum of the payload, <c>}</c> escaping (the next byte XOR 0x20), '+'/'-' acknowledgements
/// and the 0x03 break-in byte between packets. Bytes outside a packet that mean nothing are skipped (gdb's resync
/// rule). A payload longer than the limit is not kept: the rest is skipped up to its checksum and the packet refused.
/// </summary>
internal sealed class GdbPacketDecoder
{
    private readonly int _maxPayload;
    private readonly List<byte> _payload = [];
    private State _state = State.Idle;
    private byte _sum;
    private bool _escape;
    private bool _tooLong;
    private int _checksumHigh;

    public GdbPacketDecoder(int maxPayload)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayload, 1);
        _maxPayload = maxPayload;
    }

    private enum State
    {
        Idle,
        Payload,
        Checksum1,
        Checksum2,
    }

    /// <summary>True while a packet has started and not ended (a peer that goes now vanished mid-packet).</summary>
    public bool InPacket => _state != State.Idle;

    /// <summary>Feeds bytes; complete inputs are appended to <paramref name="output"/>.</summary>
    public void Feed(ReadOnlySpan<byte> bytes, List<GdbInput> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (byte b in bytes)
        {
            Feed(b, output);
        }
    }

    private void Feed(byte b, List<GdbInput> output)
    {
        switch (_state)
        {
            case State.Idle:
                switch (b)
                {
                    case (byte)'$':
                        _payload.Clear();
                        _sum = 0;
                        _escape = false;
                        _tooLong = false;
                        _state = State.Payload;
                        break;
                    case (byte)'+':
                        output.Add(new GdbInput(GdbInputKind.Ack));
                        break;
                    case (byte)'-':
                        output.Add(new GdbInput(GdbInputKind.Nack));
                        break;
                    case 0x03:
                        output.Add(new GdbInput(GdbInputKind.Interrupt));
                        break;
                }

                break;
            case State.Payload:
                if (b == (byte)'#' && !_escape)
                {
                    _state = State.Checksum1;
                    break;
                }

                _sum += b;
                if (_tooLong)
                {
                    break;
                }

                if (_payload.Count >= _maxPayload)
                {
                    _tooLong = true;
                    _payload.Clear();
                    break;
                }

                if (_escape)
                {
                    _payload.Add((byte)(b ^ 0x20));
                    _escape = false;
                }
                else if (b == (byte)'}')
                {
                    _escape = true;
                }
                else
                {
                    _payload.Add(b);
                }

                break;
            case State.Checksum1:
                _checksumHigh = HexValue(b);
                _state = State.Checksum2;
                break;
            default:
                _state = State.Idle;
                int low = HexValue(b);
                if (_tooLong)
                {
                    output.Add(new GdbInput(GdbInputKind.TooLong, Error: $"the packet is longer than {_maxPayload} bytes (PacketSize)"));
                    break;
                }

                if (_checksumHigh < 0 || low < 0 || ((_checksumHigh << 4) | low) != _sum)
                {
                    output.Add(new GdbInput(GdbInputKind.BadChecksum, Error: $"bad checksum (computed {_sum:x2})"));
                    break;
                }

                output.Add(new GdbInput(GdbInputKind.Packet, Encoding.Latin1.GetString([.. _payload])));
                break;
        }
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>Frames a reply: <c>$payload#cs</c>, escaping '$', '#', '}' and '*'.</summary>
    public static byte[] Frame(string payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var bytes = new List<byte>(payload.Length + 4) { (byte)'$' };
        byte sum = 0;
        foreach (char c in payload)
        {
            byte b = (byte)c;
            if (b is (byte)'$' or (byte)'#' or (byte)'}' or (byte)'*')
            {
                bytes.Add((byte)'}');
                sum += (byte)'}';
                b ^= 0x20;
            }

            bytes.Add(b);
            sum += b;
        }

        bytes.Add((byte)'#');
        bytes.AddRange(Encoding.ASCII.GetBytes(sum.ToString("x2", CultureInfo.InvariantCulture)));
        return [.. bytes];
    }
}
