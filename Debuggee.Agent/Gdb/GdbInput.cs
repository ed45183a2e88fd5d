// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Gdb;

/// <summary>What arrived from gdb: a packet, an acknowledgement, a break-in byte or a refused packet (with why).</summary>
internal readonly record struct GdbInput(GdbInputKind Kind, string Payload = "", string? Error = null);

/// <summary>The kinds of <see cref="GdbInput"/>.</summary>
internal enum GdbInputKind
{
    /// <summary>A packet whose checksum was right (acknowledged with '+').</summary>
    Packet,

    /// <summary>'+': the last reply arrived.</summary>
    Ack,

    /// <summary>'-': the last reply arrived damaged; send it again.</summary>
    Nack,

    /// <summary>0x03 outside a packet: break in.</summary>
    Interrupt,

    /// <summary>A packet whose checksum was wrong: answered '-', and gdb sends it again.</summary>
    BadChecksum,

    /// <summary>A packet longer than the limit: acknowledged and answered with an error.</summary>
    TooLong,
}
