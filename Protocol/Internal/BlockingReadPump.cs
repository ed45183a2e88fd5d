// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Threading.Channels;

namespace HyperDbgRemote.Protocol.Internal;

/// <summary>
/// Reads a stream with blocking reads on a dedicated background thread and hands the chunks to cancellable async
/// readers. Used for ttys on Linux, where FileStream reads are faster than SerialPort's 1 ms I/O loop but cannot be
/// cancelled (transports notes, section 1). A read blocked at close ends when the device delivers data or hangs up;
/// the thread is a background thread, so it never keeps the process alive.
/// </summary>
internal sealed class BlockingReadPump
{
    private const int ChunkSize = 4096;
    private readonly Channel<byte[]> _chunks = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
    private readonly Stream _source;
    private byte[]? _current;
    private int _offset;

    public BlockingReadPump(Stream source, string name)
    {
        _source = source;
        var thread = new Thread(Pump) { IsBackground = true, Name = name };
        thread.Start();
    }

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_current is null || _offset == _current.Length)
        {
            if (!await _chunks.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            _current = await _chunks.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            _offset = 0;
        }

        int n = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    private void Pump()
    {
        var buffer = new byte[ChunkSize];
        try
        {
            while (true)
            {
                int n = _source.Read(buffer, 0, buffer.Length);
                if (n == 0)
                {
                    break;
                }

                if (!_chunks.Writer.TryWrite(buffer[..n]))
                {
                    // Bounded: wait for the reader (back-pressure), unless the channel was closed.
                    if (!_chunks.Writer.WriteAsync(buffer[..n]).AsTask().Wait(Timeout.Infinite))
                    {
                        break;
                    }
                }
            }

            _chunks.Writer.TryComplete();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException or AggregateException)
        {
            // The device hung up or was closed: readers see end of stream (the link reports the peer closed).
            _chunks.Writer.TryComplete();
        }
    }
}
