// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net.Sockets;

namespace HyperDbgRemote.Protocol;

/// <summary>Makes a path ready for a listening Unix socket without destroying anything that is not a stale socket.</summary>
public static class UnixSocketPath
{
    /// <summary>
    /// Removes a stale socket file at <paramref name="path"/> (one nobody listens on); leaves the path alone when nothing
    /// is there.
    /// </summary>
    /// <exception cref="IOException">The path is something else (a regular file, a directory, a link, ...), or a live
    /// listener uses it.</exception>
    public static void PrepareForListening(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path) && !Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
        {
            return;
        }

        if (UnixFileStatus.TryGetType(path, out uint type) && type != UnixFileStatus.Socket)
        {
            throw new IOException($"'{path}' exists and is not a socket: refusing to replace it (remove it or choose another path).");
        }

        if (!UnixFileStatus.IsSupported && (new FileInfo(path).LinkTarget is not null || Directory.Exists(path)))
        {
            throw new IOException($"'{path}' exists and is not a socket: refusing to replace it.");
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            throw new IOException($"'{path}' is in use: another program listens on it.");
        }
        catch (SocketException)
        {
            // Nobody listens: a stale socket file of an earlier run.
        }

        File.Delete(path);
    }
}
