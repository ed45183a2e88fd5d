// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// A kernel symbol table in System.map (or /proc/kallsyms) format, one symbol a line: <c>ffffffff81000000 T _stext</c>,
/// optionally followed by a tab and a module name. The first definition of a name wins for name lookups (static
/// functions repeat); <see cref="Entries"/> keeps every line, so that each address is named after its own function.
/// </summary>
public sealed class SystemMap
{
    /// <summary>The largest file accepted (a distribution kernel's map is about 5 MiB).</summary>
    public const long MaximumBytes = 64L * 1024 * 1024;

    /// <summary>The longest symbol name accepted.</summary>
    public const int MaximumNameLength = 512;

    private const string DebianPlaceholder = "The real System.map is in the";

    private SystemMap(IReadOnlyDictionary<string, ulong> symbols, IReadOnlyList<(string Name, ulong Address)> entries, string name)
    {
        Symbols = symbols;
        Entries = entries;
        Name = name;
    }

    /// <summary>Where the map came from.</summary>
    public string Name { get; }

    /// <summary>Symbol name → address (the first definition of a name).</summary>
    public IReadOnlyDictionary<string, ulong> Symbols { get; }

    /// <summary>Every symbol in file order, repeated names included (two static <c>io_serial_out</c>, each its own).</summary>
    public IReadOnlyList<(string Name, ulong Address)> Entries { get; }

    /// <summary>Reads a map file (the size is checked before reading).</summary>
    /// <exception cref="GuestImageException">Missing, unreadable, Debian's placeholder, or a malformed line.</exception>
    public static SystemMap FromFile(string path) => Parse(Encoding.ASCII.GetString(ImageFile.Read(path, "System.map", MaximumBytes)), path);

    /// <summary>Parses map text; errors name the file and line.</summary>
    /// <exception cref="GuestImageException">Debian's placeholder map, a malformed line, or no symbol at all.</exception>
    public static SystemMap Parse(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains(DebianPlaceholder, StringComparison.Ordinal))
        {
            throw new GuestImageException(
                $"'{name}' is the placeholder System.map of Debian's kernel package (the real one is in the -dbg package); use the System.map that './build.sh deps' writes into .cache/linux.");
        }

        var symbols = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var entries = new List<(string Name, ulong Address)>();
        int lineNumber = 0;
        foreach (ReadOnlySpan<char> raw in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            ReadOnlySpan<char> line = raw.TrimEnd();
            if (line.IsEmpty)
            {
                continue;
            }

            int firstSpace = line.IndexOf(' ');
            ReadOnlySpan<char> rest = firstSpace < 0 ? default : line[(firstSpace + 1)..];
            int secondSpace = rest.IndexOf(' ');
            if (firstSpace <= 0 || secondSpace != 1
                || !ulong.TryParse(line[..firstSpace], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong address))
            {
                throw new GuestImageException($"{name}:{lineNumber}: not a System.map line (ADDRESS TYPE NAME): '{Clip(line)}'.");
            }

            ReadOnlySpan<char> symbol = rest[2..];
            int tab = symbol.IndexOf('\t');
            if (tab >= 0)
            {
                symbol = symbol[..tab];
            }

            if (symbol.IsEmpty || symbol.Length > MaximumNameLength || symbol.ContainsAny(" \t"))
            {
                throw new GuestImageException($"{name}:{lineNumber}: bad symbol name '{Clip(symbol)}'.");
            }

            string symbolName = symbol.ToString();
            symbols.TryAdd(symbolName, address);
            entries.Add((symbolName, address));
        }

        if (symbols.Count == 0)
        {
            throw new GuestImageException($"'{name}' holds no symbols.");
        }

        return new SystemMap(symbols, entries, name);
    }

    private static string Clip(ReadOnlySpan<char> text) => text.Length <= 80 ? text.ToString() : text[..80].ToString() + "...";
}
