// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// One core's engine as <see cref="CodeWriteGuard"/> sees it while the engine runs on the core's thread: the virtual
/// pages it translated code from (<see cref="Pages"/>), and its share of the machine's <see cref="CodeCoherence"/>,
/// which speaks guest-physical addresses while the engine's internal calls speak its own RAM offsets (a
/// <c>ram_addr_t</c>: where a mapped block sits in the engine's RAM list); <see cref="AddRamBlock"/> records each block's
/// offset as the engine gave it. Used on the core's thread only (the coherence itself is thread-safe).
/// </summary>
internal sealed class EngineCode(IntPtr engine, CodeCoherence coherence, CodeCoherence.Member member)
{
    private readonly List<(ulong Ram, ulong Size, ulong Physical)> _blocks = [];
    private int _last;

    /// <summary>The engine's handle (its <c>uc_struct</c>): the engine's internal calls name it.</summary>
    public IntPtr Engine => engine;

    /// <summary>The virtual pages the engine translated code from.</summary>
    public CodePageSet Pages { get; } = new();

    /// <summary>The core's share of the machine's coherence.</summary>
    public CodeCoherence.Member Member => member;

    /// <summary>The engine holds guest-physical [<paramref name="physical"/>, + <paramref name="size"/>) at its RAM offset
    /// <paramref name="ram"/>.</summary>
    public void AddRamBlock(ulong ram, ulong size, ulong physical) => _blocks.Add((ram, size, physical));

    /// <summary>The guest-physical address of the engine's RAM offset <paramref name="ram"/>; false outside every block.</summary>
    public bool TryPhysical(ulong ram, out ulong physical)
    {
        for (int n = 0; n < _blocks.Count; n++)
        {
            int i = (_last + n) % _blocks.Count;
            (ulong start, ulong size, ulong address) = _blocks[i];
            if (ram - start < size)
            {
                _last = i;
                physical = address + (ram - start);
                return true;
            }
        }

        physical = 0;
        return false;
    }

    /// <summary>The engine put its first translation on the page at RAM offset <paramref name="ram"/>.</summary>
    public void CodeAdded(ulong ram)
    {
        if (TryPhysical(ram, out ulong physical))
        {
            coherence.CodeAdded(member, physical);
        }
    }

    /// <summary>The engine dropped its last translation on the page at RAM offset <paramref name="ram"/>.</summary>
    public void CodeRemoved(ulong ram)
    {
        if (TryPhysical(ram, out ulong physical))
        {
            coherence.CodeRemoved(member, physical);
        }
    }

    /// <summary>The guest writes <paramref name="length"/> bytes at RAM offset <paramref name="ram"/> through an entry the
    /// engine checks: true when the page holds code on any core (the engine must keep checking writes to it).</summary>
    public bool Written(ulong ram, int length) => TryPhysical(ram, out ulong physical) && coherence.Written(member, physical, length);
}
