// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Threading.Channels;

namespace HyperDbgRemote.Protocol.Tests.Support;

/// <summary>A stream whose writes reach <c>inner</c> a fixed time later (a buffer the link cannot see, such as a
/// driver's transmit queue); reads pass through.</summary>
internal sealed class LatencyStream : Stream
{
    private readonly Stream _inner;
    private readonly TimeSpan _latency;
    private readonly Channel<(long Due, byte[] Bytes)> _pending = Channel.CreateUnbounded<(long, byte[])>();
    private readonly Task _pump;

    public LatencyStream(Stream inner, TimeSpan latency)
    {
        _inner = inner;
        _latency = latency;
        _pump = Task.Run(PumpAsync);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _pending.Writer.TryWrite((Environment.TickCount64 + (long)_latency.TotalMilliseconds, buffer.ToArray()));
        return ValueTask.CompletedTask;
    }

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().Wait();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _pending.Writer.TryComplete();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach ((long due, byte[] bytes) in _pending.Reader.ReadAllAsync())
            {
                long wait = due - Environment.TickCount64;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait));
                }

                await _inner.WriteAsync(bytes);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The other end is gone.
        }
    }
}
