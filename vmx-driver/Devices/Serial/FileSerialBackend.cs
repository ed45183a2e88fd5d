// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>
/// Guest output written to a file (QEMU's <c>-serial file:PATH</c>: created, or truncated when it is a regular file).
/// Only the path as given is written: a directory, a symbolic link (it could point anywhere), a device, a FIFO or a
/// socket there is refused, and the folder must exist. No input.
/// </summary>
public sealed class FileSerialBackend : SerialBackend
{
    private readonly FileStream _file;

    private FileSerialBackend(FileStream file, string path)
        : base($"file {path}")
    {
        _file = file;
    }

    /// <summary>Opens <paramref name="path"/> for writing.</summary>
    /// <exception cref="SerialBackendException">The path is not a regular file or cannot be created.</exception>
    public static FileSerialBackend Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (!Directory.Exists(Path.GetDirectoryName(full)))
        {
            throw new SerialBackendException($"serial file '{path}': the folder {Path.GetDirectoryName(full)} does not exist");
        }

        if (Directory.Exists(full))
        {
            throw new SerialBackendException($"serial file '{path}' is a directory");
        }

        uint? type = OperatingSystem.IsWindows() ? (File.Exists(full) ? UnixNative.SIfreg : null) : UnixNative.FileType(full);
        if (type is not null && type != UnixNative.SIfreg)
        {
            string what = type == UnixNative.SIflnk ? "a symbolic link" : "not a regular file (a device, FIFO or socket)";
            throw new SerialBackendException($"serial file '{path}' is {what}; give the path of a regular file to write");
        }

        try
        {
            return new FileSerialBackend(new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.Read), path);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new SerialBackendException($"serial file '{path}' cannot be written: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new SerialBackendException($"serial file '{path}' cannot be written: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    protected override bool IsConnected => true;

    /// <inheritdoc/>
    protected override int ReadInput(Span<byte> buffer) => -1;

    /// <inheritdoc/>
    protected override bool WriteOutput(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _file.Write(bytes);
            _file.Flush();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    protected override void Close() => _file.Dispose();
}
