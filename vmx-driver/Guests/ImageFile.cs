// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// Reads guest image files with errors that name the file and the problem. The size is checked before anything is
/// opened (a directory, a FIFO, /dev/zero or another device has no regular size and is refused without blocking), and
/// no read goes beyond the limit even when the file grows meanwhile.
/// </summary>
internal static class ImageFile
{
    /// <summary>The default limit for an image (256 MiB).</summary>
    public const long DefaultMaximumBytes = 256L * 1024 * 1024;

    public static byte[] Read(string path, string kind, long maximumBytes = DefaultMaximumBytes)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new GuestImageException($"The {kind} image path is empty.");
        }

        if (Directory.Exists(path))
        {
            throw new GuestImageException($"The {kind} image '{path}' is a directory, not a file.");
        }

        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new GuestImageException(Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(path)))
                ? $"The {kind} image '{path}' does not exist."
                : $"The {kind} image '{path}' does not exist (no such directory).");
        }

        // FIFOs, character and block devices report no size: refusing them here also means never blocking in open().
        long size = info.Length;
        if (size == 0)
        {
            throw new GuestImageException($"The {kind} image '{path}' is empty (or not a regular file: a device, FIFO or socket has no size).");
        }

        if (size > maximumBytes)
        {
            throw new GuestImageException($"The {kind} image '{path}' is {size:N0} bytes; the limit is {maximumBytes:N0} bytes.");
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            var bytes = new byte[size];
            int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (read != bytes.Length || stream.ReadByte() >= 0)
            {
                throw new GuestImageException($"The {kind} image '{path}' changed size while it was read.");
            }

            return bytes;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new GuestImageException($"The {kind} image '{path}' cannot be read: {ex.Message}");
        }
        catch (IOException ex)
        {
            throw new GuestImageException($"The {kind} image '{path}' cannot be read: {ex.Message}");
        }
    }

    public static void CheckFits(string name, ulong address, int length, ulong ramSize)
    {
        if (address + (ulong)length > ramSize)
        {
            throw new GuestImageException(
                $"The image '{name}' ({length} bytes at 0x{address:X}) does not fit in guest RAM of {ramSize / (1024 * 1024)} MiB (ends at 0x{address + (ulong)length:X}).");
        }
    }
}
