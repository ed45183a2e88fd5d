// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>
/// A new pseudo-terminal (QEMU's <c>-serial pty</c>): its slave side, e.g. /dev/pts/4, is set to raw mode and given
/// to the user for <c>screen</c> or <c>picocom</c>. The master side is ours. While no program has the slave open (the
/// master reports a hang-up), nobody is connected.
/// </summary>
public sealed unsafe class PtySerialBackend : SerialBackend
{
    private const int PollTimeoutMs = 100;
    private int _master;

    private PtySerialBackend(int master, string slave)
        : base($"pty {slave}")
    {
        _master = master;
        SlavePath = slave;
    }

    /// <summary>The terminal device to open, e.g. /dev/pts/4.</summary>
    public string SlavePath { get; }

    /// <summary>Creates the pseudo-terminal.</summary>
    /// <exception cref="SerialBackendException">The system has no pseudo-terminals for us, or this is not Linux.</exception>
    public static PtySerialBackend Open()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new SerialBackendException("serial backend 'pty' needs Linux pseudo-terminals; use tcp://127.0.0.1:PORT");
        }

        int master = UnixNative.posix_openpt(UnixNative.ORdwr | UnixNative.ONoctty | UnixNative.ONonblock | UnixNative.OCloexec);
        if (master < 0)
        {
            throw new SerialBackendException($"serial backend 'pty': posix_openpt failed: {UnixNative.LastError()}");
        }

        byte* name = stackalloc byte[128];
        if (UnixNative.grantpt(master) != 0 || UnixNative.unlockpt(master) != 0 || UnixNative.ptsname_r(master, name, 128) != 0)
        {
            string error = UnixNative.LastError();
            UnixNative.Close(master);
            throw new SerialBackendException($"serial backend 'pty': {error}");
        }

        string slave = Encoding.ASCII.GetString(new ReadOnlySpan<byte>(name, 128).TrimEnd((byte)0).ToArray()).Split('\0')[0];

        // Raw mode on the slave, as QEMU does (cfmakeraw): no echo, no line editing, no CR/LF translation. Closing the
        // slave again leaves the master hung up until the user opens it.
        int fd = UnixNative.Open(slave, UnixNative.ORdwr | UnixNative.ONoctty | UnixNative.OCloexec);
        if (fd >= 0)
        {
            byte* termios = stackalloc byte[UnixNative.TermiosSize];
            if (UnixNative.tcgetattr(fd, termios) == 0)
            {
                UnixNative.cfmakeraw(termios);
                UnixNative.tcsetattr(fd, UnixNative.Tcsanow, termios);
            }

            UnixNative.Close(fd);
        }

        return new PtySerialBackend(master, slave);
    }

    /// <inheritdoc/>
    protected override bool IsConnected => (PollMaster(0, 0) & UnixNative.PollHup) == 0;

    /// <inheritdoc/>
    protected override int ReadInput(Span<byte> buffer)
    {
        while (!Stopping.IsCancellationRequested)
        {
            short events = PollMaster(UnixNative.PollIn, PollTimeoutMs);
            if ((events & UnixNative.PollIn) != 0)
            {
                fixed (byte* p = buffer)
                {
                    nint n = UnixNative.Read(Volatile.Read(ref _master), p, (nuint)buffer.Length);
                    if (n > 0)
                    {
                        return (int)n;
                    }
                }
            }
            else if ((events & (UnixNative.PollHup | UnixNative.PollErr)) != 0)
            {
                Stopping.WaitHandle.WaitOne(PollTimeoutMs); // nobody on the slave: look again later
            }
        }

        return -1;
    }

    /// <inheritdoc/>
    protected override bool WriteOutput(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
        {
            int done = 0;
            while (done < bytes.Length)
            {
                nint n = UnixNative.Write(Volatile.Read(ref _master), p + done, (nuint)(bytes.Length - done));
                if (n > 0)
                {
                    done += (int)n;
                    continue;
                }

                // Full (EAGAIN): wait until the reader takes some, unless it has gone or we are stopping.
                short events = PollMaster(UnixNative.PollOut, PollTimeoutMs);
                if ((events & (UnixNative.PollHup | UnixNative.PollErr)) != 0 || Volatile.Read(ref _master) < 0)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <inheritdoc/>
    protected override void Close()
    {
        int fd = Interlocked.Exchange(ref _master, -1);
        if (fd >= 0)
        {
            UnixNative.Close(fd);
        }
    }

    private short PollMaster(short events, int timeoutMs)
    {
        var fd = new UnixNative.PollFd { Fd = Volatile.Read(ref _master), Events = events };
        if (fd.Fd < 0)
        {
            return UnixNative.PollErr;
        }

        return UnixNative.Poll(&fd, 1, timeoutMs) > 0 ? fd.Revents : (short)0;
    }
}
