// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.Protocol.Internal;

namespace HyperDbgRemote.Protocol.Tests.Support;

/// <summary>A hand-driven peer of a link on a raw stream: it performs the RESET handshake and writes frames itself.</summary>
internal sealed class RawPeer
{
    private readonly Stream _stream;
    private readonly FrameDecoder _decoder = new(ProtocolConstants.DefaultMaxFramePayload) { SessionState = null };
    private readonly List<DecodedItem> _items = [];

    public RawPeer(Stream stream, uint nonce)
    {
        _stream = stream;
        Nonce = nonce;
    }

    public uint Nonce { get; }

    /// <summary>The link's nonce, once its RESET was read.</summary>
    public uint PeerNonce { get; private set; }

    /// <summary>The session's CRC state, once known.</summary>
    public uint SessionState => SessionKey.CrcState(Nonce, PeerNonce);

    /// <summary>Sends RESET(nonce, 0), reads the link's RESET and answers RESET(nonce, its nonce): the link is then established.</summary>
    public async Task HandshakeAsync()
    {
        await WriteAsync(Reset(Nonce, 0));
        while (PeerNonce == 0)
        {
            foreach (Frame frame in await ReadFramesAsync())
            {
                if (frame.Type == FrameType.Reset && BinaryPrimitives.ReadUInt32LittleEndian(frame.Payload.AsSpan(4)) == Nonce)
                {
                    PeerNonce = BinaryPrimitives.ReadUInt32LittleEndian(frame.Payload);
                }
            }
        }

        _decoder.SessionState = SessionState;
        await WriteAsync(Reset(Nonce, PeerNonce));
    }

    /// <summary>A RESET frame.</summary>
    public static byte[] Reset(uint nonce, uint peer)
    {
        var payload = new byte[ProtocolConstants.ResetPayloadLength];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), peer);
        return FrameCodec.Encode(FrameType.Reset, 0, 0, 0, payload);
    }

    public async Task WriteAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Reads one chunk and returns the frames decoded from it.</summary>
    public async Task<List<Frame>> ReadFramesAsync()
    {
        var buffer = new byte[4096];
        int n = await _stream.ReadAsync(buffer).AsTask().DefaultTimeout();
        _items.Clear();
        _decoder.Feed(buffer.AsSpan(0, n), _items);
        return [.. _items.Where(i => !i.IsBreakIn).Select(i => i.Frame)];
    }
}
