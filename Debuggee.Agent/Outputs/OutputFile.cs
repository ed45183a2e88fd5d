// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;
using HyperDbgRemote.Protocol;
using Microsoft.Win32.SafeHandles;

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>
/// Opens a file output inside the owner's output directory and nowhere else: the name is a relative path without
/// <c>..</c>; the file is opened without following a link in its last component and without blocking on a FIFO; what
/// was opened must be a regular file whose real path lies inside the directory (a link in a parent directory is caught
/// here). Otherwise nothing is created or truncated, and the error says why.
/// </summary>
internal static partial class OutputFile
{
    /// <summary>Checks an output's file name and returns its full path inside <paramref name="directory"/>.</summary>
    /// <exception cref="OutputException">An absolute path, a <c>..</c>, or a path that leaves the directory.</exception>
    public static string Resolve(string directory, string name)
    {
        if (Path.IsPathRooted(name) || name.Contains(':', StringComparison.Ordinal))
        {
            throw Denied($"'{name}' is an absolute path: file outputs are names inside the agent's output directory");
        }

        string[] parts = name.Split(['/', '\\']);
        if (parts.Any(p => p is ".." or "." || p.Length == 0))
        {
            throw Denied($"'{name}' has an empty, '.' or '..' component: file outputs stay inside the agent's output directory");
        }

        string full = Path.GetFullPath(Path.Combine(directory, name));
        if (!full.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw Denied($"'{name}' leaves the agent's output directory");
        }

        return full;
    }

    /// <summary>Opens (creating it if needed) the file for appending; truncates it first when asked.</summary>
    /// <exception cref="OutputException">It is a link, not a regular file, outside the directory, or cannot be opened.</exception>
    public static FileStream Open(string directory, string fullPath, bool truncate)
    {
        CheckParents(directory, fullPath);
        if (!UnixFileStatus.IsSupported)
        {
            return OpenPortable(fullPath, truncate);
        }

        bool x64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
        int flags = OpenWriteOnly | OpenCreate | OpenAppend | OpenNonBlocking | OpenCloseOnExec | (x64 ? OpenNoFollowX64 : OpenNoFollowArm64);
        int fd = NativeMethods.open(fullPath, flags, DefaultMode);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new OutputException(errno switch
            {
                ErrnoLoop => $"'{fullPath}' is a symbolic link: file outputs never follow links.",
                ErrnoNoDeviceOrAddress => $"'{fullPath}' is a FIFO or a device: file outputs are regular files.",
                _ => $"'{fullPath}' cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)}.",
            });
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (!UnixFileStatus.TryGetType(fd, out uint type) || type != UnixFileStatus.RegularFile)
            {
                throw new OutputException($"'{fullPath}' is not a regular file: file outputs are regular files.");
            }

            string real = new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? fullPath;
            if (!real.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw Denied($"'{fullPath}' resolves to '{real}', outside the agent's output directory (a link in a parent directory)");
            }

            if (truncate && NativeMethods.ftruncate(fd, 0) != 0)
            {
                throw new OutputException($"'{fullPath}' cannot be truncated: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}.");
            }

            return new FileStream(handle, FileAccess.Write, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Every directory between the output directory and the file must be a real directory, not a link: open(2)
    /// would otherwise create the file wherever the link points before any check of the result could refuse it.</summary>
    private static void CheckParents(string directory, string fullPath)
    {
        string current = directory;
        string[] parts = fullPath[(directory.Length + 1)..].Split(Path.DirectorySeparatorChar);
        foreach (string part in parts[..^1])
        {
            current = Path.Combine(current, part);
            var info = new DirectoryInfo(current);
            if (info.LinkTarget is not null)
            {
                throw Denied($"'{current}' is a symbolic link: it may lead outside the agent's output directory");
            }

            if (!info.Exists)
            {
                throw new OutputException($"'{current}' does not exist: create the directory inside the output directory first.");
            }
        }
    }

    /// <summary>Elsewhere (Windows, other architectures): no FIFOs to block on, links refused by attribute.</summary>
    private static FileStream OpenPortable(string fullPath, bool truncate)
    {
        // (the parents were checked by the caller)
        var info = new FileInfo(fullPath);
        if (info.Exists && info.LinkTarget is not null)
        {
            throw new OutputException($"'{fullPath}' is a symbolic link: file outputs never follow links.");
        }

        try
        {
            return new FileStream(fullPath, truncate ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OutputException($"'{fullPath}' cannot be opened: {ex.Message}", ex);
        }
    }

    private static OutputException Denied(string why) => new($"{why}.", Protocol.Messages.Status.PermissionDenied);

    // Linux open(2) flags (asm-generic, x86-64 and arm64 alike but for O_NOFOLLOW) and errno values.
    private const int OpenWriteOnly = 0x1;
    private const int OpenCreate = 0x40;
    private const int OpenAppend = 0x400;
    private const int OpenNonBlocking = 0x800;
    private const int OpenCloseOnExec = 0x80000;
    private const int OpenNoFollowX64 = 0x20000;
    private const int OpenNoFollowArm64 = 0x8000;
    private const int DefaultMode = 0x1A4; // 0644
    private const int ErrnoLoop = 40;
    private const int ErrnoNoDeviceOrAddress = 6;

    private static partial class NativeMethods
    {
        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int open(string path, int flags, int mode);

        [LibraryImport("libc", SetLastError = true)]
        internal static partial int ftruncate(int fd, long length);
    }
}
