// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>
/// The wire protocol's version. Host and agent of the same version interoperate whatever their builds (HyperDbg
/// requires the same build, spec 9.28); a different version is refused at the handshake with both versions named.
/// </summary>
public static class ProtocolVersion
{
    /// <summary>This build's protocol version.</summary>
    public const uint Current = 2;
}
