// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using System.IO.Ports;
using HyperDbgRemote.Protocol.Internal;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// A serial line, 8N1 without flow control (spec 7.2). Port names: <c>com1</c>–<c>com4</c> (any case; on Linux mapped to
/// <c>/dev/ttyS0</c>–<c>/dev/ttyS3</c>) or, on Linux, any absolute device path (ptys are not listed by the OS, so any
/// path is accepted). Every HyperDbg baud rate 110–256000 is accepted. On Linux the line is configured by
/// <see cref="SerialPort"/> but read and written through FileStreams on the tty, which is ~20× faster than SerialPort's
/// I/O loop; DTR/RTS are never touched (they throw on ptys). After any I/O error the transport must be discarded.
/// </summary>
public sealed class SerialTransport : StreamTransport
{
    private const int ComPortCount = 4;
    private const string LinuxComPrefix = "/dev/ttyS";
    private readonly SerialPort _port;
    private readonly BlockingReadPump? _pump;

    private SerialTransport(SerialPort port, Stream reader, Stream writer, string description, int bytesPerSecond, bool pumped)
        : base(reader, writer, description, isReliable: false, bytesPerSecond)
    {
        _port = port;
        _pump = pumped ? new BlockingReadPump(reader, "serial read " + port.PortName) : null;
    }

    /// <summary>Whether HyperDbg accepts this baud rate (spec 7.2).</summary>
    public static bool IsSupportedBaudRate(int baudRate) => ProtocolConstants.SupportedBaudRates.Contains(baudRate);

    /// <summary>Maps a user port name to the device to open.</summary>
    public static bool TryResolvePortName(string name, [NotNullWhen(true)] out string? device, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        device = null;
        if (name.Length == 4 && name.StartsWith("com", StringComparison.OrdinalIgnoreCase) && name[3] is >= '1' and <= (char)('0' + ComPortCount))
        {
            int index = name[3] - '1';
            device = OperatingSystem.IsWindows() ? "COM" + (index + 1) : LinuxComPrefix + index;
            error = null;
            return true;
        }

        if (!OperatingSystem.IsWindows() && name.StartsWith('/'))
        {
            device = name;
            error = null;
            return true;
        }

        error = OperatingSystem.IsWindows()
            ? $"invalid serial port '{name}': expected com1, com2, com3 or com4."
            : $"invalid serial port '{name}': expected com1 .. com4 or an absolute device path such as /dev/ttyS0 or /dev/pts/3.";
        return false;
    }

    /// <summary>Opens the port; false with a message naming the port and the reason.</summary>
    public static bool TryOpen(string name, int baudRate, [NotNullWhen(true)] out SerialTransport? transport, [NotNullWhen(false)] out string? error)
    {
        transport = null;
        if (!IsSupportedBaudRate(baudRate))
        {
            error = $"invalid baud rate {baudRate}: expected one of {string.Join(", ", ProtocolConstants.SupportedBaudRates)}.";
            return false;
        }

        if (!TryResolvePortName(name, out string? device, out error))
        {
            return false;
        }

        if (!OperatingSystem.IsWindows() && !File.Exists(device))
        {
            // SerialPort reports a missing device as "access denied" (transports notes, section 1).
            error = $"serial port '{device}' does not exist.";
            return false;
        }

        var port = new SerialPort(device, baudRate, Parity.None, 8, StopBits.One) { Handshake = Handshake.None };
        try
        {
            port.Open();
            string description = $"serial {device} at {baudRate} baud";
            int bytesPerSecond = baudRate / ProtocolConstants.SerialBitsPerByte;
            if (OperatingSystem.IsWindows())
            {
                transport = new SerialTransport(port, port.BaseStream, port.BaseStream, description, bytesPerSecond, pumped: false);
            }
            else
            {
                var reader = new FileStream(device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0);
                var writer = new FileStream(device, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0);
                transport = new SerialTransport(port, reader, writer, description, bytesPerSecond, pumped: true);
            }

            error = null;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            port.Dispose();
            error = $"cannot open serial port '{device}' at {baudRate} baud: {ex.Message}";
            return false;
        }
    }

    /// <summary>Opens the port or throws <see cref="IOException"/> with the reason.</summary>
    public static SerialTransport Open(string name, int baudRate = ProtocolConstants.DefaultBaudRate) =>
        TryOpen(name, baudRate, out SerialTransport? transport, out string? error) ? transport : throw new IOException(error);

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        _pump is null ? base.ReadAsync(buffer, cancellationToken) : _pump.ReadAsync(buffer, cancellationToken);

    /// <inheritdoc/>
    protected override async ValueTask CloseCoreAsync()
    {
        await base.CloseCoreAsync().ConfigureAwait(false);
        try
        {
            _port.Dispose();
        }
        catch (IOException)
        {
            // A hung-up port may fail to close; it is abandoned either way.
        }
    }
}
