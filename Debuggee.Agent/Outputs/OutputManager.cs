// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>
/// The <c>output</c> command's sources (HyperDbg spec section 5, with the fixes of section 9: a closed source can be
/// opened again, files append or truncate as asked, pipe and TCP messages are newline-delimited, a failing source is
/// reported once with a count).
/// </summary>
internal sealed class OutputManager : IDisposable
{
    /// <summary>Longest source name (HyperDbg: under 50 characters).</summary>
    public const int MaxNameLength = 49;

    /// <summary>Most sources.</summary>
    public const int MaxSources = 64;

    private readonly object _gate = new();
    private readonly List<OutputSource> _sources = [];

    /// <summary>The sources in creation order.</summary>
    public IReadOnlyList<OutputSource> Sources
    {
        get
        {
            lock (_gate)
            {
                return [.. _sources];
            }
        }
    }

    /// <summary>Creates a source (not opened yet).</summary>
    /// <exception cref="OutputException">Bad name, kind or address.</exception>
    public OutputSource Create(string name, string kind, string address, bool truncate = false)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength || name.Any(char.IsWhiteSpace))
        {
            throw new OutputException($"output name '{name}' is invalid: 1 to {MaxNameLength} characters without spaces.");
        }

        OutputKind k = kind.ToLowerInvariant() switch
        {
            "file" => OutputKind.File,
            "namedpipe" => OutputKind.NamedPipe,
            "tcp" => OutputKind.Tcp,
            _ => throw new OutputException($"output type '{kind}' is unknown: use file, namedpipe or tcp."),
        };
        ValidateAddress(k, address);
        lock (_gate)
        {
            if (_sources.Exists(s => s.Name == name))
            {
                throw new OutputException($"output '{name}' already exists.");
            }

            if (_sources.Count >= MaxSources)
            {
                throw new OutputException($"too many outputs: at most {MaxSources}.");
            }

            var source = new OutputSource(name, k, address, truncate);
            _sources.Add(source);
            return source;
        }
    }

    private static void ValidateAddress(OutputKind kind, string address)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            throw new OutputException("the output address is empty.");
        }

        if (kind == OutputKind.Tcp)
        {
            int colon = address.LastIndexOf(':');
            if (colon <= 0 || !ushort.TryParse(address[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out ushort port) || port == 0)
            {
                throw new OutputException($"tcp address '{address}' is not HOST:PORT.");
            }
        }
    }

    /// <summary>The source named <paramref name="name"/>.</summary>
    /// <exception cref="OutputException">No such source.</exception>
    public OutputSource Get(string name)
    {
        lock (_gate)
        {
            return _sources.Find(s => s.Name == name)
                ?? throw new OutputException($"output '{name}' not found; create it with 'output create {name} file|namedpipe|tcp ADDRESS'.");
        }
    }

    /// <summary>Sends a message to the named sources; returns failure reports (once per failure).</summary>
    public List<string> Forward(IReadOnlyList<string> names, string message)
    {
        var reports = new List<string>();
        foreach (string name in names)
        {
            OutputSource? source;
            lock (_gate)
            {
                source = _sources.Find(s => s.Name == name);
            }

            if (source?.Write(message) is string report)
            {
                reports.Add(report);
            }
        }

        return reports;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (OutputSource s in _sources)
            {
                s.Dispose();
            }
        }
    }
}
