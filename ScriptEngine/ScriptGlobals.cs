// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace HyperDbgRemote.Script;

/// <summary>
/// The global variables (<c>.name</c>): <see cref="ScriptLimits.GlobalSlots"/> 64-bit slots shared by every script,
/// event and core, zeroed only when created (spec 3.5, 6.2). Thread-safe: names get slots on first use, values are
/// read and written atomically, and the script's <c>interlocked_*</c>/<c>spinlock_*</c> functions work on them.
/// </summary>
public sealed class ScriptGlobals
{
    private readonly ulong[] _values = new ulong[ScriptLimits.GlobalSlots];
    private readonly ConcurrentDictionary<string, int> _slots = new(StringComparer.Ordinal);
    private readonly Lock _assignLock = new();
    private int _version;

    /// <summary>How many names have a slot.</summary>
    public int Count => _slots.Count;

    /// <summary>Reads a global by name (0 when it never had a slot).</summary>
    public ulong this[string name]
    {
        get => _slots.TryGetValue(name, out int slot) ? Volatile.Read(ref _values[slot]) : 0;
    }

    /// <summary>Writes a global by name; false (with the reason) when the table is full.</summary>
    public bool TrySet(string name, ulong value, [NotNullWhen(false)] out string? error)
    {
        if (!TryGetOrAddSlot(name, out int slot, out error))
        {
            return false;
        }

        Volatile.Write(ref _values[slot], value);
        return true;
    }

    /// <summary>Sets every global back to 0 and forgets the names.</summary>
    public void Clear()
    {
        lock (_assignLock)
        {
            _slots.Clear();
            Array.Clear(_values);
            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>The slot of <paramref name="name"/>, assigning the next free one on first use.</summary>
    internal bool TryGetOrAddSlot(string name, out int slot, [NotNullWhen(false)] out string? error)
    {
        if (_slots.TryGetValue(name, out slot))
        {
            error = null;
            return true;
        }

        lock (_assignLock)
        {
            if (_slots.TryGetValue(name, out slot))
            {
                error = null;
                return true;
            }

            if (_slots.Count >= ScriptLimits.GlobalSlots)
            {
                error = $"global variable '.{name}' does not fit: all {ScriptLimits.GlobalSlots} global slots are in use";
                slot = -1;
                return false;
            }

            slot = _slots.Count;
            _slots[name] = slot;
            error = null;
            return true;
        }
    }

    internal ulong[] Values => _values;

    /// <summary>Changes whenever <see cref="Clear"/> forgets the names, so cached slot bindings are rebuilt.</summary>
    internal int Version => Volatile.Read(ref _version);
}
