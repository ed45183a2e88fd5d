// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>Reads guest image files with errors that name the file and the problem.</summary>
internal static class ImageFile
{
    public static byte[] Read(string path, string kind)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new GuestImageException($"The {kind} image path is empty.");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            throw new GuestImageException($"The {kind} image '{path}' does not exist.");
        }
        catch (DirectoryNotFoundException)
        {
            throw new GuestImageException($"The {kind} image '{path}' does not exist (no such directory).");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new GuestImageException($"The {kind} image '{path}' cannot be read: {ex.Message}");
        }
        catch (IOException ex)
        {
            throw new GuestImageException($"The {kind} image '{path}' cannot be read: {ex.Message}");
        }

        if (bytes.Length == 0)
        {
            throw new GuestImageException($"The {kind} image '{path}' is empty.");
        }

        return bytes;
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
