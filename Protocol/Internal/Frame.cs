// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>One decoded frame. <see cref="Payload"/> is owned by the frame.</summary>
internal readonly record struct Frame(FrameType Type, byte Flags, byte Sequence, byte Ack, byte[] Payload);

/// <summary>What the decoder yields: a frame, or the out-of-band break-in byte seen between frames.</summary>
internal readonly record struct DecodedItem(bool IsBreakIn, Frame Frame)
{
    public static DecodedItem BreakIn { get; } = new(true, default);
}
