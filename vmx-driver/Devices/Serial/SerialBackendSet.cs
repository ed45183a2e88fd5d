// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>The backends of a machine's COM ports (COM1 = 1 … COM4 = 4), opened together and closed together.</summary>
public sealed class SerialBackendSet : IDisposable
{
    private readonly List<(int Com, SerialBackend Backend)> _backends = [];

    private SerialBackendSet()
    {
    }

    /// <summary>How many COM ports a machine needs for <paramref name="specs"/>: the highest one given, at least 1 (QEMU
    /// adds a UART per <c>-serial</c>).</summary>
    public static int SerialPortsFor(IReadOnlyDictionary<int, SerialBackendSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        return specs.Count == 0 ? 1 : specs.Keys.Max();
    }

    /// <summary>Opens a backend per entry of <paramref name="specs"/> and attaches it to that COM port of
    /// <paramref name="devices"/>; on a failure the ones already opened are closed again.</summary>
    /// <exception cref="SerialBackendException">A backend cannot be opened; the message names the COM port.</exception>
    public static SerialBackendSet Attach(StandardDevices devices, IReadOnlyDictionary<int, SerialBackendSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(specs);
        var set = new SerialBackendSet();
        try
        {
            foreach ((int com, SerialBackendSpec spec) in specs.OrderBy(s => s.Key))
            {
                if (com < 1 || com > devices.Uarts.Count)
                {
                    throw new SerialBackendException($"COM{com} does not exist on this machine (it has COM1–COM{devices.Uarts.Count}).");
                }

                SerialBackend backend;
                try
                {
                    backend = SerialBackend.Create(spec);
                }
                catch (SerialBackendException ex)
                {
                    throw new SerialBackendException($"COM{com}: {ex.Message}", ex);
                }

                set._backends.Add((com, backend));
                backend.Attach(devices.Uarts[com - 1]);
            }

            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    /// <summary>One line per backend for the user, e.g. "COM1: pty /dev/pts/4 (connect with: screen /dev/pts/4)".</summary>
    public IEnumerable<string> Describe() => _backends.Select(b => b.Backend is PtySerialBackend pty
        ? $"COM{b.Com}: {b.Backend.Description} (connect with: screen {pty.SlavePath}, or picocom {pty.SlavePath})"
        : $"COM{b.Com}: {b.Backend.Description}");

    /// <summary>The backend of COM<paramref name="com"/>, or null.</summary>
    public SerialBackend? Backend(int com) => _backends.FirstOrDefault(b => b.Com == com).Backend;

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach ((_, SerialBackend backend) in _backends)
        {
            backend.Dispose();
        }

        _backends.Clear();
    }
}
