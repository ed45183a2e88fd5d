// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.IO.Pipes;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>
/// One output source: a file in the agent's output directory (truncated at its first opening when asked, appended to
/// afterwards), a named pipe (<c>\\.\pipe\NAME</c>, or an absolute Unix socket path on Linux) or a TCP endpoint
/// (<c>HOST:PORT</c>). Files receive the messages' text as it is; pipes and TCP receive one message per line.
/// <see cref="Write"/> never blocks (it runs inside a VM exit): messages wait in a bounded queue that a writer drains;
/// what does not fit, and what arrives while the source is not open or after it failed, is counted as lost. A failure
/// is reported once through the report callback, and the source can be opened again.
/// </summary>
internal sealed class OutputSource : IDisposable
{
    /// <summary>Messages waiting for a slow reader before further ones are counted as lost.</summary>
    public const int QueueCapacity = 10_000;

    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_drainOnClose = TimeSpan.FromSeconds(2);
    private readonly object _gate = new();
    private readonly OutputPolicy _policy;
    private readonly Action<string> _report;
    private Channel<string>? _queue;
    private Task? _writer;
    private Stream? _stream;
    private bool _everOpened;
    private long _lost;
    private long _sent;
    private int _overflowReported;

    public OutputSource(string name, OutputKind kind, string address, bool truncate, OutputPolicy policy, Action<string> report)
    {
        Name = name;
        Kind = kind;
        Address = address;
        Truncate = truncate;
        _policy = policy;
        _report = report;
    }

    public string Name { get; }

    public OutputKind Kind { get; }

    /// <summary>The address as given (for files, the name inside the output directory).</summary>
    public string Address { get; }

    /// <summary>For files: truncate at the first opening (else append).</summary>
    public bool Truncate { get; }

    public OutputState State { get; private set; } = OutputState.NotOpened;

    /// <summary>Messages lost because the source was not open, had failed, or its queue was full.</summary>
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

            Stream stream;
            try
            {
                stream = Kind switch
                {
                    OutputKind.File => OutputFile.Open(_policy.Directory!, OutputFile.Resolve(_policy.Directory!, Address), Truncate && !_everOpened),
                    OutputKind.NamedPipe => ConnectPipe(Address),
                    _ => ConnectTcp(Address),
                };
            }
            catch (OutputException ex)
            {
                throw new OutputException($"output '{Name}' ({KindName(Kind)} {Address}) cannot be opened: {ex.Message}", ex.Status);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SocketException or TimeoutException or ArgumentException)
            {
                throw new OutputException($"output '{Name}' ({KindName(Kind)} {Address}) cannot be opened: {ex.Message}", ex);
            }

            _everOpened = true;
            _stream = stream;
            _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
            Channel<string> queue = _queue;
            _writer = Task.Run(() => DrainAsync(queue, stream));
            State = OutputState.Opened;
            LastError = null;
            Volatile.Write(ref _overflowReported, 0);
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

    /// <summary>Closes the source after writing what is queued (at most 2 s); it can be opened again.</summary>
    public void Close()
    {
        Task? writer;
        Stream? stream;
        lock (_gate)
        {
            if (State != OutputState.Opened && State != OutputState.Failed)
            {
                throw new OutputException($"output '{Name}' is not open.");
            }

            _queue?.Writer.TryComplete();
            writer = _writer;
            stream = _stream;
            _queue = null;
            _writer = null;
            _stream = null;
            State = OutputState.Closed;
        }

        if (writer is not null && !writer.Wait(s_drainOnClose))
        {
            stream?.Dispose(); // a reader that never reads: what is queued is lost
        }

        stream?.Dispose();
    }

    /// <summary>Queues one message for the writer; never blocks. Returns false (and counts it lost) when it cannot be queued.</summary>
    public bool Write(string message)
    {
        Channel<string>? queue = Volatile.Read(ref _queue);
        if (queue is not null && State == OutputState.Opened && queue.Writer.TryWrite(message))
        {
            return true;
        }

        Interlocked.Increment(ref _lost);
        if (queue is not null && State == OutputState.Opened && Interlocked.Exchange(ref _overflowReported, 1) == 0)
        {
            _report($"output '{Name}' is not keeping up: {QueueCapacity} messages are waiting; further ones are counted as lost.");
        }

        return false;
    }

    private async Task DrainAsync(Channel<string> queue, Stream stream)
    {
        try
        {
            await foreach (string message in queue.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                string text = Kind == OutputKind.File || message.EndsWith('\n') ? message : message + "\n";
                byte[] bytes = Encoding.UTF8.GetBytes(text);
                await stream.WriteAsync(bytes).ConfigureAwait(false);
                await stream.FlushAsync().ConfigureAwait(false);
                Interlocked.Increment(ref _sent);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or NotSupportedException)
        {
            lock (_gate)
            {
                if (!ReferenceEquals(_queue, queue))
                {
                    return; // closed meanwhile
                }

                LastError = ex.Message;
                queue.Writer.TryComplete();
                while (queue.Reader.TryRead(out _))
                {
                    Interlocked.Increment(ref _lost);
                }

                Interlocked.Increment(ref _lost);

                // Reported before the state says so: whoever sees Failed finds the report made.
                _report($"output '{Name}' failed: {ex.Message}; its messages are counted as lost until 'output open {Name}'.");
                State = OutputState.Failed;
            }

            await stream.DisposeAsync().ConfigureAwait(false);
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
            _queue?.Writer.TryComplete();
            _stream?.Dispose();
            _stream = null;
            _queue = null;
        }
    }
}
