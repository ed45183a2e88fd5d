// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Threading.Channels;

namespace HyperDbgRemote.Protocol.Tests.Support;

/// <summary>An in-memory duplex byte stream pair; writes from each side may pass through a <see cref="FaultInjector"/>.</summary>
internal sealed class MemoryDuplex : Stream
{
    private readonly Channel<byte[]> _inbound;
    private readonly Channel<byte[]> _outbound;
    private readonly FaultInjector? _faults;
    private byte[]? _current;
    private int _offset;

    private MemoryDuplex(Channel<byte[]> inbound, Channel<byte[]> outbound, FaultInjector? faults)
    {
        _inbound = inbound;
        _outbound = outbound;
        _faults = faults;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public static (MemoryDuplex A, MemoryDuplex B) CreatePair(FaultInjector? aToB = null, FaultInjector? bToA = null)
    {
        var ab = Channel.CreateUnbounded<byte[]>();
        var ba = Channel.CreateUnbounded<byte[]>();
        return (new MemoryDuplex(ba, ab, aToB), new MemoryDuplex(ab, ba, bToA));
    }

    public static (StreamTransport A, StreamTransport B) CreateTransports(bool reliable, FaultInjector? aToB = null, FaultInjector? bToA = null)
    {
        var (a, b) = CreatePair(aToB, bToA);
        return (new StreamTransport(a, "memory A", reliable), new StreamTransport(b, "memory B", reliable));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_current is null || _offset == _current.Length)
        {
            try
            {
                _current = await _inbound.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                _offset = 0;
            }
            catch (ChannelClosedException)
            {
                return 0;
            }
        }

        int n = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_faults is null)
        {
            _outbound.Writer.TryWrite(buffer.ToArray());
        }
        else
        {
            foreach (byte[] chunk in _faults.Apply(buffer.Span))
            {
                _outbound.Writer.TryWrite(chunk);
            }
        }

        return ValueTask.CompletedTask;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        _outbound.Writer.TryComplete();
        base.Dispose(disposing);
    }
}
