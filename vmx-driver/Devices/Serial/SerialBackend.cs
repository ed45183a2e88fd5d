// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>
/// The host end of a COM port, as QEMU's character devices: what the guest transmits goes out, what arrives goes into
/// the UART's receive side. Output waits in a 64 KiB buffer. While someone is connected, a full buffer holds the
/// guest's transmitter (flow control: nothing is lost); while nobody is, the oldest bytes make room and are counted in
/// <see cref="DroppedBytes"/>, so a console nobody watches never stalls the guest. Input is offered to the UART only as
/// fast as it takes it. One reader and one writer thread per backend; <see cref="Dispose()"/> stops them.
/// </summary>
public abstract class SerialBackend : ISerialSink, IDisposable
{
    /// <summary>Bytes of guest output held for the host side.</summary>
    public const int OutputCapacity = 64 * 1024;

    private const int ChunkSize = 4096;
    private readonly object _lock = new();
    private readonly Queue<byte> _output = new();
    private readonly CancellationTokenSource _stop = new();
    private Uart16550? _uart;
    private Thread? _reader;
    private Thread? _writer;
    private bool _refused;
    private long _dropped;
    private bool _disposed;

    protected SerialBackend(string description)
    {
        Description = description;
    }

    /// <summary>What the user connects to, e.g. "pty /dev/pts/4" or "tcp://127.0.0.1:4555".</summary>
    public string Description { get; protected set; }

    /// <summary>Guest output discarded because nobody was connected and the buffer was full.</summary>
    public long DroppedBytes => Interlocked.Read(ref _dropped);

    /// <summary>Stops the threads when cancelled.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>True while a reader is connected (always, for stdio and files).</summary>
    protected abstract bool IsConnected { get; }

    /// <summary>Creates the backend a specification names; prints nothing.</summary>
    /// <exception cref="SerialBackendException">It cannot be opened (path, permission, port in use, …).</exception>
    public static SerialBackend Create(SerialBackendSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Kind switch
        {
            SerialBackendKind.Stdio => new StdioSerialBackend(),
            SerialBackendKind.File => FileSerialBackend.Open(spec.Path!),
            SerialBackendKind.Pty => PtySerialBackend.Open(),
            SerialBackendKind.Unix => SocketSerialBackend.ListenUnix(spec.Path!),
            _ => SocketSerialBackend.ListenTcp(spec.Port),
        };
    }

    /// <summary>Connects the backend to <paramref name="uart"/> and starts moving bytes.</summary>
    public void Attach(Uart16550 uart)
    {
        ArgumentNullException.ThrowIfNull(uart);
        if (_uart is not null)
        {
            throw new InvalidOperationException("The serial backend is already attached.");
        }

        _uart = uart;
        uart.AttachSink(this);
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = $"serial-out {Description}" };
        _reader = new Thread(ReaderLoop) { IsBackground = true, Name = $"serial-in {Description}" };
        _writer.Start();
        _reader.Start();
    }

    /// <inheritdoc/>
    public bool TryWrite(byte value)
    {
        lock (_lock)
        {
            if (_output.Count >= OutputCapacity)
            {
                if (IsConnected)
                {
                    _refused = true;
                    return false;
                }

                _output.Dequeue();
                _dropped++;
            }

            _output.Enqueue(value);
            Monitor.PulseAll(_lock);
            return true;
        }
    }

    /// <summary>Reads host input, blocking. Returns the bytes read, 0 when a connection ended (the loop waits for the
    /// next) or -1 when there will be no more input.</summary>
    protected abstract int ReadInput(Span<byte> buffer);

    /// <summary>Writes to the host, blocking. False when the connection went away (the bytes are counted as dropped).</summary>
    protected abstract bool WriteOutput(ReadOnlySpan<byte> bytes);

    /// <summary>Wakes the writer: a reader connected or left.</summary>
    protected void ConnectionChanged()
    {
        lock (_lock)
        {
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Releases what the backend holds and unblocks its reads and writes.</summary>
    protected abstract void Close();

    private void WriterLoop()
    {
        byte[] chunk = new byte[ChunkSize];
        while (true)
        {
            int n = 0;
            bool wakeUart;
            lock (_lock)
            {
                // A backend whose connection state changes outside (a pty) is re-checked every 100 ms.
                while (!_stop.IsCancellationRequested && (_output.Count == 0 || !IsConnected))
                {
                    Monitor.Wait(_lock, TimeSpan.FromMilliseconds(100));
                }

                // Stopping: what is left goes out first (when someone is there to take it).
                if (_stop.IsCancellationRequested && (_output.Count == 0 || !IsConnected))
                {
                    return;
                }

                while (n < chunk.Length && _output.Count > 0)
                {
                    chunk[n++] = _output.Dequeue();
                }

                wakeUart = _refused;
                _refused = false;
            }

            if (wakeUart)
            {
                _uart?.SinkReady();
            }

            if (n > 0 && !WriteOutput(chunk.AsSpan(0, n)))
            {
                Interlocked.Add(ref _dropped, n);
            }
        }
    }

    private void ReaderLoop()
    {
        byte[] buffer = new byte[ChunkSize];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = ReadInput(buffer);
                if (n < 0)
                {
                    return;
                }

                int offset = 0;
                while (offset < n)
                {
                    int taken = _uart!.Receive(buffer.AsSpan(offset, n - offset));
                    offset += taken;
                    if (taken == 0)
                    {
                        _uart.WaitForInputSpace(Timeout.InfiniteTimeSpan, _stop.Token);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops the threads and closes the backend.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing)
        {
            return;
        }

        _disposed = true;
        _uart?.AttachSink(null);
        _stop.Cancel();
        ConnectionChanged();

        // The writer drains what is buffered (for at most 2 s), then the backend closes, which unblocks everything.
        // The reader may sit in a read that cannot be cancelled (standard input); it ends when that read returns.
        _writer?.Join(TimeSpan.FromSeconds(2));
        Close();
    }
}
