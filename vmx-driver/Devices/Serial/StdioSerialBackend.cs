// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>
/// The program's standard output and input (QEMU's <c>-serial stdio</c>). The terminal is left as it is: in a shell,
/// typed text reaches the guest line by line, when Enter is pressed.
/// </summary>
public sealed class StdioSerialBackend : SerialBackend
{
    private readonly Stream _input = Console.OpenStandardInput();
    private readonly Stream _output = Console.OpenStandardOutput();

    public StdioSerialBackend()
        : base("stdio")
    {
    }

    /// <inheritdoc/>
    protected override bool IsConnected => true;

    /// <inheritdoc/>
    protected override int ReadInput(Span<byte> buffer)
    {
        try
        {
            int n = _input.Read(buffer);
            return n == 0 ? -1 : n;
        }
        catch (IOException)
        {
            return -1;
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
    }

    /// <inheritdoc/>
    protected override bool WriteOutput(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _output.Write(bytes);
            _output.Flush();
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
    protected override void Close() => _output.Flush();
}
