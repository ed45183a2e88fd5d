// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>The state of an output source.</summary>
internal enum OutputState
{
    NotOpened,
    Opened,
    Closed,

    /// <summary>A write failed; messages are counted as lost until the source is opened again.</summary>
    Failed,
}
