// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.IO.Pipes;
using System.Net.Sockets;
using System.Text;

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>
/// One output source: a file (append or truncate), a named pipe (<c>\\.\pipe\NAME</c>, or an absolute Unix socket
/// path on Linux) or a TCP endpoint (<c>HOST:PORT</c>). Files receive the messages' text as it is; pipes and TCP
/// receive one message per line. A failed write is reported once: the source turns <see cref="OutputState.Failed"/>
/// and counts what it loses until it is opened again. A closed source can be opened again.
/// </summary>
internal sealed class OutputSource : IDisposable
{
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(5);
    private readonly object _gate = new();
    private Stream? _stream;
    private long _lost;
    private long _sent;

    public OutputSource(string name, OutputKind kind, string address, bool truncate)
    {
        Name = name;
        Kind = kind;
        Address = address;
        Truncate = truncate;
    }

    public string Name { get; }

    public OutputKind Kind { get; }

    public string Address { get; }

    /// <summary>For files: truncate when opened (else append).</summary>
    public bool Truncate { get; }

    public OutputState State { get; private set; } = OutputState.NotOpened;

    /// <summary>Messages lost because the source was not open or failed.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Messages delivered.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>The last failure, if any.</summary>
    public string? LastError { get; private set; }

    /// <summary>Opens the source (again, after a close or a failure).</summary>
    /// <exception cref="OutputException">It cannot be opened; the message says why.</exception>
    public void Open()
    {
        lock (_gate)
        {
            if (State == OutputState.Opened)
            {
                throw new OutputException($"output '{Name}' is already open.");
            }

            try
            {
                _stream = Kind switch
                {
                    OutputKind.File => new FileStream(Address, Truncate ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read),
                    OutputKind.NamedPipe => ConnectPipe(Address),
                    _ => ConnectTcp(Address),
                };
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SocketException or TimeoutException or ArgumentException)
            {
                throw new OutputException($"output '{Name}' ({KindName(Kind)} {Address}) cannot be opened: {ex.Message}", ex);
            }

            State = OutputState.Opened;
            LastError = null;
        }
    }

    private static Stream ConnectPipe(string address)
    {
        const string prefix = @"\\.\pipe\";
        if (!OperatingSystem.IsWindows() && Path.IsPathRooted(address))
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(address));
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        string pipe = address.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? address[prefix.Length..] : address;
        var client = new NamedPipeClientStream(".", pipe, PipeDirection.Out);
        try
        {
            client.Connect(s_connectTimeout);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static NetworkStream ConnectTcp(string address)
    {
        int colon = address.LastIndexOf(':');
        string host = address[..colon].Trim('[', ']');
        int port = int.Parse(address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var client = new TcpClient();
        try
        {
            if (!client.ConnectAsync(host, port).Wait(s_connectTimeout))
            {
                throw new TimeoutException($"no answer from {address} in {s_connectTimeout.TotalSeconds} s");
            }

            return client.GetStream();
        }
        catch (AggregateException ex) when (ex.InnerException is SocketException se)
        {
            client.Dispose();
            throw se;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Closes the source; it can be opened again.</summary>
    public void Close()
    {
        lock (_gate)
        {
            if (State != OutputState.Opened && State != OutputState.Failed)
            {
                throw new OutputException($"output '{Name}' is not open.");
            }

            _stream?.Dispose();
            _stream = null;
            State = OutputState.Closed;
        }
    }

    /// <summary>Sends one message; returns the failure text the first time a write fails, else null.</summary>
    public string? Write(string message)
    {
        lock (_gate)
        {
            if (State != OutputState.Opened || _stream is null)
            {
                Interlocked.Increment(ref _lost);
                return null;
            }

            try
            {
                string text = Kind == OutputKind.File || message.EndsWith('\n') ? message : message + "\n";
                byte[] bytes = Encoding.UTF8.GetBytes(text);
                _stream.Write(bytes);
                _stream.Flush();
                Interlocked.Increment(ref _sent);
                return null;
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException)
            {
                Interlocked.Increment(ref _lost);
                State = OutputState.Failed;
                LastError = ex.Message;
                _stream.Dispose();
                _stream = null;
                return $"output '{Name}' failed: {ex.Message}; its messages are counted as lost until 'output open {Name}'.";
            }
        }
    }

    public static string KindName(OutputKind kind) => kind switch
    {
        OutputKind.File => "file",
        OutputKind.NamedPipe => "namedpipe",
        _ => "tcp",
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }
}
