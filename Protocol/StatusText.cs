// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol;

/// <summary>A user message for every <see cref="Status"/> (STYLE 24: a test checks that none is missing).</summary>
public static class StatusText
{
    /// <summary>The user message of a status; unknown values (a newer peer) are named by number.</summary>
    public static string Describe(Status status) => status switch
    {
        Status.Unspecified => "no status was given (a peer bug).",
        Status.Ok => "the operation succeeded.",
        Status.InvalidArgument => "an argument is invalid.",
        Status.NotFound => "the item was not found.",
        Status.LimitExceeded => "a limit was exceeded.",
        Status.NotHalted => "the debuggee is running; pause it first.",
        Status.AlreadyHalted => "the debuggee is already paused.",
        Status.Unsupported => "the operation is not supported by this agent.",
        Status.Internal => "the agent failed internally.",
        Status.PermissionDenied => "permission denied.",
        Status.Timeout => "the operation timed out.",
        Status.GuestStopped => "the guest has stopped.",
        Status.IncompatibleVersion => "the host and the agent speak different protocol versions.",
        _ => $"unknown status {(int)status}.",
    };
}
