// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// Collects bytes a device emits: kept in memory (bounded, oldest dropped and counted) and optionally copied to a
/// stream (a file, stdout). Thread-safe.
/// </summary>
public sealed class ByteCapture
{
    /// <summary>How many bytes are kept in memory.</summary>
    public const int DefaultCapacity = 1024 * 1024;

    private readonly object _lock = new();
    private readonly Queue<byte> _bytes = new();
    private readonly int _capacity;
    private Stream? _mirror;
    private long _total;
    private long _dropped;

    public ByteCapture(int capacity = DefaultCapacity)
    {
        _capacity = capacity;
    }

    /// <summary>Copies every byte to <paramref name="stream"/> from now on (null stops copying).</summary>
    public void MirrorTo(Stream? stream)
    {
        lock (_lock)
        {
            _mirror = stream;
        }
    }

    /// <summary>
    /// Raised for every byte as the device emits it, on the emitting thread (a core's, or a serial backend's) with the
    /// device's lock held: a handler must be quick and must not call into the device.
    /// </summary>
    public event Action<byte>? Emitted;

    /// <summary>Bytes emitted so far.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Bytes no longer kept in memory because the capacity was exceeded.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    internal void Add(byte value)
    {
        lock (_lock)
        {
            _total++;
            if (_bytes.Count == _capacity)
            {
                _bytes.Dequeue();
                _dropped++;
            }

            _bytes.Enqueue(value);
            if (_mirror is not null)
            {
                try
                {
                    _mirror.WriteByte(value);
                    if (value == (byte)'\n')
                    {
                        _mirror.Flush();
                    }
                }
                catch (IOException)
                {
                    _mirror = null;
                }
                catch (ObjectDisposedException)
                {
                    _mirror = null;
                }
            }
        }

        Emitted?.Invoke(value);
    }

    /// <summary>The kept bytes.</summary>
    public byte[] ToArray()
    {
        lock (_lock)
        {
            return [.. _bytes];
        }
    }

    /// <summary>The kept bytes as Latin-1 text.</summary>
    public string Text() => Encoding.Latin1.GetString(ToArray());
}
