// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// The file type of a path or descriptor on Linux (lstat/fstat; .NET exposes no file type): what the agent checks before
/// it replaces a socket file or writes a file output. Supported on Linux x86-64 and arm64; elsewhere every call returns
/// false and callers fall back to what .NET offers.
/// </summary>
public static partial class UnixFileStatus
{
    /// <summary>S_IFMT.</summary>
    public const uint TypeMask = 0xF000;

    /// <summary>S_IFREG.</summary>
    public const uint RegularFile = 0x8000;

    /// <summary>S_IFSOCK.</summary>
    public const uint Socket = 0xC000;

    /// <summary>S_IFLNK.</summary>
    public const uint SymbolicLink = 0xA000;

    // struct stat: st_mode at offset 24 on x86-64, 16 on arm64.
    private const int StatBufferSize = 256;
    private const int ModeOffsetX64 = 24;
    private const int ModeOffsetArm64 = 16;

    /// <summary>True where this class works (Linux on x86-64 or arm64).</summary>
    public static bool IsSupported =>
        OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>The type bits (<see cref="TypeMask"/>) of <paramref name="path"/> itself (a link is not followed); false
    /// when it does not exist or this platform is not supported.</summary>
    public static bool TryGetType(string path, out uint type)
    {
        type = 0;
        if (!IsSupported)
        {
            return false;
        }

        Span<byte> stat = stackalloc byte[StatBufferSize];
        if (NativeMethods.lstat(path, ref MemoryMarshal.GetReference(stat)) != 0)
        {
            return false;
        }

        type = Mode(stat) & TypeMask;
        return true;
    }

    /// <summary>The type bits of an open descriptor; false when it cannot be examined or this platform is not supported.</summary>
    public static bool TryGetType(int fd, out uint type)
    {
        type = 0;
        if (!IsSupported)
        {
            return false;
        }

        Span<byte> stat = stackalloc byte[StatBufferSize];
        if (NativeMethods.fstat(fd, ref MemoryMarshal.GetReference(stat)) != 0)
        {
            return false;
        }

        type = Mode(stat) & TypeMask;
        return true;
    }

    private static uint Mode(ReadOnlySpan<byte> stat) =>
        BitConverter.ToUInt32(stat[(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? ModeOffsetX64 : ModeOffsetArm64)..]);

    private static partial class NativeMethods
    {
        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int lstat(string path, ref byte buffer);

        [LibraryImport("libc", SetLastError = true)]
        internal static partial int fstat(int fd, ref byte buffer);
    }
}
