// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// Routes port accesses to devices. Unhandled ports read as all ones (a floating bus), ignore writes and are counted
/// per port. A wide access goes to one device when it owns every byte, else it is split into byte accesses.
/// </summary>
public sealed class IoPortDispatcher
{
    private const int PortCount = 0x10000;
    private readonly IIoPortHandler?[] _handlers = new IIoPortHandler?[PortCount];
    private readonly long[] _unhandled = new long[PortCount];

    /// <summary>Assigns <paramref name="count"/> ports from <paramref name="first"/> to a device.</summary>
    /// <exception cref="InvalidOperationException">A port is already taken.</exception>
    public void Register(ushort first, int count, IIoPortHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (count <= 0 || first + count > PortCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Ports 0x{first:X4}+{count} do not fit the port space.");
        }

        for (int p = first; p < first + count; p++)
        {
            if (_handlers[p] is { } other)
            {
                throw new InvalidOperationException($"Port 0x{p:X4} already belongs to {other.GetType().Name}.");
            }
        }

        for (int p = first; p < first + count; p++)
        {
            _handlers[p] = handler;
        }
    }

    /// <summary>The device at a port, or null.</summary>
    public IIoPortHandler? HandlerAt(ushort port) => _handlers[port];

    /// <summary>How many accesses reached an unhandled port.</summary>
    public long UnhandledCount(ushort port) => Interlocked.Read(ref _unhandled[port]);

    /// <summary>Every unhandled port that was accessed, with its count.</summary>
    public IEnumerable<KeyValuePair<ushort, long>> UnhandledPorts()
    {
        for (int p = 0; p < PortCount; p++)
        {
            long n = Interlocked.Read(ref _unhandled[p]);
            if (n != 0)
            {
                yield return new KeyValuePair<ushort, long>((ushort)p, n);
            }
        }
    }

    /// <summary>Reads <paramref name="size"/> (1, 2 or 4) bytes.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public uint Read(ushort port, int size)
    {
        IIoPortHandler? h = _handlers[port];
        if (h is not null && size == 1)
        {
            return h.ReadByte(port);
        }

        if (h is not null && Owns(h, port, size))
        {
            return size switch
            {
                1 => h.ReadByte(port),
                2 => h.ReadWord(port),
                _ => h.ReadDword(port),
            };
        }

        uint value = 0;
        for (int i = 0; i < size; i++)
        {
            value |= (uint)ReadByteSplit(unchecked((ushort)(port + i))) << (8 * i);
        }

        return value;
    }

    /// <summary>Writes <paramref name="size"/> (1, 2 or 4) bytes.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Write(ushort port, int size, uint value)
    {
        IIoPortHandler? h = _handlers[port];
        if (h is not null && size == 1)
        {
            h.WriteByte(port, (byte)value);
            return;
        }

        if (h is not null && Owns(h, port, size))
        {
            switch (size)
            {
                case 1:
                    h.WriteByte(port, (byte)value);
                    break;
                case 2:
                    h.WriteWord(port, (ushort)value);
                    break;
                default:
                    h.WriteDword(port, value);
                    break;
            }

            return;
        }

        for (int i = 0; i < size; i++)
        {
            ushort p = unchecked((ushort)(port + i));
            IIoPortHandler? b = _handlers[p];
            if (b is null)
            {
                Interlocked.Increment(ref _unhandled[p]);
            }
            else
            {
                b.WriteByte(p, (byte)(value >> (8 * i)));
            }
        }
    }

    private byte ReadByteSplit(ushort port)
    {
        IIoPortHandler? h = _handlers[port];
        if (h is null)
        {
            Interlocked.Increment(ref _unhandled[port]);
            return 0xFF;
        }

        return h.ReadByte(port);
    }

    private bool Owns(IIoPortHandler h, ushort port, int size)
    {
        for (int i = 1; i < size; i++)
        {
            int p = port + i;
            if (p >= PortCount || !ReferenceEquals(_handlers[p], h))
            {
                return false;
            }
        }

        return true;
    }
}
