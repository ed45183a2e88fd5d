// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// The guest's symbols (<c>module!name</c> → address) arranged for the debugger's questions: which names match a
/// pattern (<c>x</c>) and which symbol an address lies in (<c>ln</c>, <c>u</c>, <c>k</c>). Built once; read-only after.
/// </summary>
public sealed class SymbolIndex
{
    /// <summary>How far above a symbol an address may lie and still be named after it (beyond: no symbol).</summary>
    public const ulong MaxOffset = 16 * 1024 * 1024;

    private readonly ulong[] _addresses;
    private readonly string[] _names;
    private readonly (string Name, ulong Address)[] _byAddress;

    /// <summary>
    /// Indexes <paramref name="symbols"/> for names; addresses are named from <paramref name="addressSymbols"/> when
    /// given (every definition, a name repeated at several addresses included: Linux's static functions), else from
    /// <paramref name="symbols"/>.
    /// </summary>
    public SymbolIndex(IReadOnlyDictionary<string, ulong> symbols, IEnumerable<(string Name, ulong Address)>? addressSymbols = null)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        _byAddress = [.. symbols.Select(s => (s.Key, s.Value)).OrderBy(s => s.Value).ThenBy(s => s.Key, StringComparer.Ordinal)];
        IEnumerable<(string Name, ulong Address)> naming = addressSymbols is null
            ? _byAddress
            : addressSymbols.Distinct().OrderBy(s => s.Address).ThenBy(s => s.Name, StringComparer.Ordinal);

        // One name per address for "where is this address": the one a reader knows best (a name without leading
        // underscores, then the shortest: nt!X rather than demo!nt_X, start_kernel rather than __pfx_start_kernel).
        var addresses = new List<ulong>();
        var names = new List<string>();
        foreach (IGrouping<ulong, (string Name, ulong Address)> at in naming.GroupBy(s => s.Address))
        {
            addresses.Add(at.Key);
            names.Add(at.Select(s => s.Name).OrderBy(n => Local(n).StartsWith('_')).ThenBy(n => n.Length).ThenBy(n => n, StringComparer.Ordinal).First());
        }

        _addresses = [.. addresses];
        _names = [.. names];
    }

    /// <summary>How many symbols there are.</summary>
    public int Count => _byAddress.Length;

    /// <summary>
    /// The symbols whose name matches <paramref name="pattern"/> (<c>*</c> any run, <c>?</c> one character,
    /// case-insensitive; without a <c>!</c> it matches the name in every module), by address, at most
    /// <paramref name="limit"/>; <paramref name="more"/> says whether others were left out.
    /// </summary>
    public IReadOnlyList<(string Name, ulong Address)> Match(string pattern, int limit, out bool more, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        bool qualified = pattern.Contains('!', StringComparison.Ordinal);
        var found = new List<(string Name, ulong Address)>();
        more = false;
        for (int i = 0; i < _byAddress.Length; i++)
        {
            if ((i & 0xFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            (string name, ulong address) = _byAddress[i];
            if (Glob.Matches(pattern, qualified ? name : Local(name)))
            {
                if (found.Count == limit)
                {
                    more = true;
                    break;
                }

                found.Add((name, address));
            }
        }

        return found;
    }

    /// <summary>The symbol at or below <paramref name="address"/> (within <see cref="MaxOffset"/>) and the next one
    /// above it, or null.</summary>
    public (string Name, ulong Address, string? NextName, ulong NextAddress)? Nearest(ulong address)
    {
        int i = Array.BinarySearch(_addresses, address);
        if (i < 0)
        {
            i = ~i - 1;
        }

        if (i < 0 || address - _addresses[i] >= MaxOffset)
        {
            return null;
        }

        return i + 1 < _addresses.Length
            ? (_names[i], _addresses[i], _names[i + 1], _addresses[i + 1])
            : (_names[i], _addresses[i], null, 0);
    }

    private static string Local(string name)
    {
        int bang = name.IndexOf('!', StringComparison.Ordinal);
        return bang < 0 ? name : name[(bang + 1)..];
    }

    /// <summary>Wildcard matching without backtracking blow-up: the pattern's pieces between stars are found left to
    /// right (the leftmost match is always the right one), the first anchored at the start and the last at the end.</summary>
    private static class Glob
    {
        public static bool Matches(string pattern, string text)
        {
            string[] pieces = pattern.Split('*');
            if (pieces.Length == 1)
            {
                return text.Length == pattern.Length && At(text, 0, pattern);
            }

            string first = pieces[0];
            string last = pieces[^1];
            if (text.Length < first.Length + last.Length || !At(text, 0, first) || !At(text, text.Length - last.Length, last))
            {
                return false;
            }

            int position = first.Length;
            int end = text.Length - last.Length;
            for (int k = 1; k < pieces.Length - 1; k++)
            {
                string piece = pieces[k];
                int found = -1;
                for (int p = position; p + piece.Length <= end; p++)
                {
                    if (At(text, p, piece))
                    {
                        found = p;
                        break;
                    }
                }

                if (found < 0)
                {
                    return false;
                }

                position = found + piece.Length;
            }

            return true;
        }

        private static bool At(string text, int start, string piece)
        {
            for (int j = 0; j < piece.Length; j++)
            {
                char p = piece[j];
                if (p != '?' && char.ToUpperInvariant(p) != char.ToUpperInvariant(text[start + j]))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
