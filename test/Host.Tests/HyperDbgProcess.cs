// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>Runs the debugger as a user does: <c>bin/hyperdbg ARGS</c> (the launcher ./build.sh writes), or the host
/// assembly of this build when the launcher is absent.</summary>
internal static class HyperDbgProcess
{
    private static readonly TimeSpan s_defaultLimit = TimeSpan.FromSeconds(60);

    public static (int Exit, string Out, string Err) Run(params string[] args) => Run(s_defaultLimit, args);

    /// <summary>Runs it; fails the test when it does not finish within <paramref name="limit"/>.</summary>
    public static (int Exit, string Out, string Err) Run(TimeSpan limit, params string[] args) => DebuggerProcesses.RunDebugger(limit, args);

    /// <summary>How to start the debugger with <paramref name="args"/> (output and errors redirected).</summary>
    public static ProcessStartInfo StartInfo(params string[] args) => DebuggerProcesses.DebuggerStartInfo(args);
}
