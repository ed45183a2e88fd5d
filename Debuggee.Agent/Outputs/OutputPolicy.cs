// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>
/// What the agent's owner allows output sources to touch on the agent's machine: file outputs only inside
/// <see cref="Directory"/> (<c>--output-dir</c>), and named-pipe and TCP outputs only with
/// <see cref="AllowConnections"/> (<c>--allow-output-connections</c>). A connected debugger can ask for no more.
/// </summary>
/// <param name="Directory">The one directory file outputs may be created in (absolute, links resolved), or null: no file outputs.</param>
/// <param name="AllowConnections">Whether named-pipe and TCP outputs may connect.</param>
internal sealed record OutputPolicy(string? Directory, bool AllowConnections)
{
    /// <summary>Nothing allowed: the default of an agent started without the options.</summary>
    public static OutputPolicy None { get; } = new(null, false);

    /// <summary>A policy for <paramref name="directory"/>, which must exist; its links are resolved once here.</summary>
    /// <exception cref="ArgumentException">The directory does not exist.</exception>
    public static OutputPolicy ForDirectory(string directory, bool allowConnections)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var info = new DirectoryInfo(Path.GetFullPath(directory));
        if (!info.Exists)
        {
            throw new ArgumentException($"--output-dir {directory}: the directory does not exist.");
        }

        string real = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
        return new OutputPolicy(Path.TrimEndingDirectorySeparator(RealPath(real)), allowConnections);
    }

    /// <summary>The path with every link along it resolved (on Linux through /proc; elsewhere as given).</summary>
    private static string RealPath(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return path;
        }

        string current = Path.GetPathRoot(path)!;
        foreach (string part in path[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            string next = Path.Combine(current, part);
            FileSystemInfo? target = new DirectoryInfo(next).ResolveLinkTarget(returnFinalTarget: true);
            current = target?.FullName ?? next;
        }

        return current;
    }
}
