// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>An <see cref="ITransport"/> over one duplex <see cref="Stream"/> or a pair of read and write streams.</summary>
public class StreamTransport : ITransport
{
    private readonly Stream _reader;
    private readonly Stream _writer;
    private int _closed;

    /// <summary>Wraps a duplex stream, which the transport owns.</summary>
    public StreamTransport(Stream stream, string description, bool isReliable)
        : this(stream, stream, description, isReliable, 0)
    {
    }

    /// <summary>Wraps separate read and write streams (owned), e.g. two FileStreams on a tty.</summary>
    protected StreamTransport(Stream reader, Stream writer, string description, bool isReliable, int bytesPerSecond)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(description);
        _reader = reader;
        _writer = writer;
        Description = description;
        IsReliable = isReliable;
        BytesPerSecond = bytesPerSecond;
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public bool IsReliable { get; }

    /// <inheritdoc/>
    public int BytesPerSecond { get; }

    /// <summary>True once <see cref="CloseAsync"/> ran.</summary>
    protected bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <inheritdoc/>
    public virtual ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        _reader.ReadAsync(buffer, cancellationToken);

    /// <inheritdoc/>
    public virtual async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await CloseCoreAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the streams; derived transports release their port or socket after calling this.</summary>
    protected virtual async ValueTask CloseCoreAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        if (!ReferenceEquals(_reader, _writer))
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
