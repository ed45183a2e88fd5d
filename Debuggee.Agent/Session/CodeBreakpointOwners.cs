// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// Who wants a code breakpoint at each address: the host's <c>bp</c> table and each gdb client take a reference, and
/// the VM's breakpoint stays while any reference is left, so gdb's <c>z0</c> does not remove a <c>bp</c> at the same
/// address, nor <c>bc</c> a gdb breakpoint. Callers hold the session's halt gate (or the VM is not started).
/// </summary>
internal sealed class CodeBreakpointOwners
{
    private readonly VirtualMachine _vm;
    private readonly object _gate = new();
    private readonly Dictionary<ulong, int> _references = [];

    public CodeBreakpointOwners(VirtualMachine vm)
    {
        _vm = vm;
    }

    /// <summary>Takes a reference on the breakpoint at <paramref name="linearAddress"/>, setting it in the VM when it is
    /// the first.</summary>
    public void Acquire(ulong linearAddress)
    {
        lock (_gate)
        {
            int n = _references.GetValueOrDefault(linearAddress);
            if (n == 0)
            {
                _ = _vm.AddCodeBreakpoint(linearAddress);
            }

            _references[linearAddress] = n + 1;
        }
    }

    /// <summary>How many references the breakpoint at <paramref name="linearAddress"/> has (0: none).</summary>
    public int References(ulong linearAddress)
    {
        lock (_gate)
        {
            return _references.GetValueOrDefault(linearAddress);
        }
    }

    /// <summary>Drops a reference; the VM's breakpoint goes with the last one. False when there was none.</summary>
    public bool Release(ulong linearAddress)
    {
        lock (_gate)
        {
            if (!_references.TryGetValue(linearAddress, out int n))
            {
                return false;
            }

            if (n == 1)
            {
                _references.Remove(linearAddress);
                _ = _vm.RemoveCodeBreakpoint(linearAddress);
            }
            else
            {
                _references[linearAddress] = n - 1;
            }

            return true;
        }
    }
}
