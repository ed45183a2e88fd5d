// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Tests.Paging;

internal enum EngineOutcomeKind
{
    Done,
    Fault,
    Error,
}
