// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>Where an output source sends messages.</summary>
internal enum OutputKind
{
    File,
    NamedPipe,
    Tcp,
}
