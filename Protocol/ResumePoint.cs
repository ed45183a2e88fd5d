// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>Where a host resumes its session after a lost link: the session id of its handshake and the sequence of the
/// last notification it processed. The agent then sends what followed (what it kept; what it no longer has is announced
/// as dropped).</summary>
/// <param name="SessionId">The session id of the earlier handshake.</param>
/// <param name="LastNotification">The last notification processed.</param>
public sealed record ResumePoint(string SessionId, ulong LastNotification);
