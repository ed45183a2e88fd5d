// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Wire;

/// <summary>
/// One debugger's session with the agent, from its handshake until it ends or its resume window passes: which
/// notifications were written to it and which it acknowledged. A session whose host went away is parked, and the host
/// (or another with its id) resumes it after a lost link and gets what it had not acknowledged.
/// </summary>
internal sealed class HostSession
{
    private long _written;

    public HostSession(string id, bool acknowledges)
    {
        Id = id;
        Acknowledges = acknowledges;
    }

    /// <summary>The session id sent in the handshake (128 random bits, hexadecimal).</summary>
    public string Id { get; }

    /// <summary>The host announced "notification-acks": what it has not acknowledged is kept for it.</summary>
    public bool Acknowledges { get; }

    /// <summary>The last notification written to its channel (set on the pump's thread).</summary>
    public ulong Written
    {
        get => (ulong)Interlocked.Read(ref _written);
        set => Interlocked.Exchange(ref _written, (long)value);
    }

    /// <summary>The last notification it acknowledged (for a host that does not acknowledge: the last written).</summary>
    public ulong Acknowledged { get; set; }

    /// <summary>What it has confirmed: acknowledged, or, without acknowledgements, written.</summary>
    public ulong Confirmed => Acknowledges ? Acknowledged : Written;

    /// <summary>The last notification numbered before its handshake: the state it was told is as of that one.</summary>
    public ulong OpenedAfter { get; init; }

    /// <summary>A handshake that named this session is attaching to it: replay after <see cref="Acknowledged"/>.</summary>
    public bool Resuming { get; set; }

    /// <summary>Whether a host has ever been attached (a session of a gRPC handshake waits for its stream).</summary>
    public bool EverAttached { get; set; }

    /// <summary>The live channel, or null while parked.</summary>
    internal NotificationHub.Subscriber? Live { get; set; }

    /// <summary>When it was parked (timestamp of the hub's clock).</summary>
    public long ParkedSince { get; set; }
}
