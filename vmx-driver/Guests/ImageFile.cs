// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>Reads guest image files with errors that name the file and the problem.</summary>
internal static class ImageFile
{
    /// <summary>The largest image any guest can hold: the largest guest RAM.</summary>
    public const long MaxImageBytes = (long)VmConfiguration.MaximumMemoryBytes;

    /// <summary>Reads a regular file of 1 byte to <paramref name="maxBytes"/>; the size is checked before anything is read,
    /// so a device (<c>/dev/zero</c>) or a FIFO (both report no size) is refused instead of read without bound.</summary>
    public static byte[] Read(string path, string kind, long maxBytes = MaxImageBytes)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new GuestImageException($"The {kind} image path is empty.");
        }

        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new GuestImageException(Directory.Exists(path)
                    ? $"The {kind} image '{path}' is a directory."
                    : $"The {kind} image '{path}' does not exist.");
            }

            long length = info.Length;
            if (length == 0)
            {
                throw new GuestImageException($"The {kind} image '{path}' is empty or not a regular file (a device or a FIFO has no size).");
            }

            if (length > maxBytes)
            {
                throw new GuestImageException($"The {kind} image '{path}' is {length} bytes: at most {maxBytes} bytes fit.");
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            byte[] bytes = new byte[length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new GuestImageException($"The {kind} image '{path}' cannot be read: {ex.Message}");
        }
        catch (EndOfStreamException)
        {
            throw new GuestImageException($"The {kind} image '{path}' became shorter while it was read.");
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
