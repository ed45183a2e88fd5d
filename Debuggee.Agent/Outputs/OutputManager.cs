// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using HyperDbgRemote.Protocol;

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>
/// The <c>output</c> command's sources (HyperDbg spec section 5, with the fixes of section 9: a closed source can be
/// opened again, files append or truncate as asked, pipe and TCP messages are newline-delimited, a failing source is
/// reported once with a count). Unlike HyperDbg's, the sources live on the agent's machine, so the owner's
/// <see cref="OutputPolicy"/> decides what they may touch (docs/differences.md).
/// </summary>
internal sealed class OutputManager : IDisposable
{
    /// <summary>Longest source name (HyperDbg: under 50 characters).</summary>
    public const int MaxNameLength = 49;

    private readonly object _gate = new();
    private readonly List<OutputSource> _sources = [];
    private readonly ProtocolLimits _limits;
    private readonly OutputPolicy _policy;
    private readonly Action<string> _report;

    /// <param name="policy">What the owner allows.</param>
    /// <param name="report">Where failures of a source are reported (once per failure).</param>
    /// <param name="limits">How many sources may exist.</param>
    public OutputManager(OutputPolicy policy, Action<string> report, ProtocolLimits? limits = null)
    {
        _policy = policy;
        _report = report;
        _limits = limits ?? ProtocolLimits.Default;
    }

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
        CheckAllowed(k, address);
        lock (_gate)
        {
            if (_sources.Exists(s => s.Name == name))
            {
                throw new OutputException($"output '{name}' already exists.");
            }

            if (!_limits.TryAdmitOutput(_sources.Count, out string? error))
            {
                throw new OutputException(error, Protocol.Messages.Status.LimitExceeded);
            }

            var source = new OutputSource(name, k, address, truncate, _policy, _report);
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

    /// <summary>Refuses what the owner did not allow: files outside the output directory, connections without the option.</summary>
    private void CheckAllowed(OutputKind kind, string address)
    {
        if (kind == OutputKind.File)
        {
            if (_policy.Directory is null)
            {
                throw new OutputException("file outputs are disabled on this agent: its owner allows them in one directory with --output-dir DIR.", Protocol.Messages.Status.PermissionDenied);
            }

            _ = OutputFile.Resolve(_policy.Directory, address);
        }
        else if (!_policy.AllowConnections)
        {
            throw new OutputException($"{OutputSource.KindName(kind)} outputs are disabled on this agent: its owner allows them with --allow-output-connections.", Protocol.Messages.Status.PermissionDenied);
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

    /// <summary>Queues a message for the named sources; never blocks (failures are reported through the callback).</summary>
    public void Forward(IReadOnlyList<string> names, string message)
    {
        foreach (string name in names)
        {
            OutputSource? source;
            lock (_gate)
            {
                source = _sources.Find(s => s.Name == name);
            }

            source?.Write(message);
        }
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
