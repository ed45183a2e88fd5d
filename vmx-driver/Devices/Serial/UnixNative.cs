// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>The libc calls the pty backend and the file checks need (Linux, glibc 2.33 or later for lstat).</summary>
internal static unsafe partial class UnixNative
{
    public const int ORdwr = 0x2;
    public const int ONoctty = 0x100;
    public const int ONonblock = 0x800;
    public const int OCloexec = 0x80000;
    public const short PollIn = 0x1;
    public const short PollOut = 0x4;
    public const short PollErr = 0x8;
    public const short PollHup = 0x10;
    public const int Eagain = 11;
    public const int Eintr = 4;
    public const int Tcsanow = 0;
    public const uint SIfmt = 0xF000;
    public const uint SIfsock = 0xC000;
    public const uint SIflnk = 0xA000;
    public const uint SIfreg = 0x8000;
    public const uint SIfdir = 0x4000;

    /// <summary>struct termios is 60 bytes on Linux; room to spare.</summary>
    public const int TermiosSize = 64;

    /// <summary>struct stat is 144 bytes on x86-64 and 128 on arm64; room to spare.</summary>
    private const int StatSize = 256;

    /// <summary>Offset of st_mode: 24 on x86-64 (after dev, ino, nlink), 16 on arm64 and the generic layout.</summary>
    private static readonly int s_modeOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int posix_openpt(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int grantpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int unlockpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ptsname_r(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcsetattr(int fd, int actions, byte* termios);

    [LibraryImport("libc")]
    public static partial void cfmakeraw(byte* termios);

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, byte* buffer);

    /// <summary>The file type bits (S_IFMT) of <paramref name="path"/> itself (a symlink is not followed), or null
    /// when it does not exist.</summary>
    public static uint? FileType(string path)
    {
        byte* buffer = stackalloc byte[StatSize];
        if (LStat(path, buffer) != 0)
        {
            return null;
        }

        return *(uint*)(buffer + s_modeOffset) & SIfmt;
    }

    /// <summary>The error of the last call, as text.</summary>
    public static string LastError() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
}
